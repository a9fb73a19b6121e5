"""Checkpoints: weights_only round trip, atomic writes, RNG states, device choice, seeds."""
import random

import numpy as np
import pytest
import torch

from vreid_lite.engine.checkpoint import (load_checkpoint, restore_rng_states, rng_states,
                                          save_checkpoint)
from vreid_lite.engine.device import choose_device, seed_everything


def _state():
    model = torch.nn.Linear(4, 3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(2, 4)).sum().backward()
    opt.step()
    return model, opt, {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3,
                        "history": {"epochs": [{"epoch": 1, "total": 1.5, "mAP": None}]},
                        "rng": rng_states()}


def test_round_trip_with_weights_only(tmp_path):
    model, opt, state = _state()
    path = save_checkpoint(tmp_path / "checkpoint.pt", state)
    loaded = torch.load(path, weights_only=True)
    assert loaded["epoch"] == 3 and loaded["history"] == state["history"]
    fresh = torch.nn.Linear(4, 3)
    fresh.load_state_dict(loaded["model"])
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(),
                                                 model.state_dict().values()))
    opt2 = torch.optim.Adam(fresh.parameters(), lr=1e-3)
    opt2.load_state_dict(load_checkpoint(path)["optimizer"])
    assert torch.equal(opt2.state_dict()["state"][0]["exp_avg"],
                       opt.state_dict()["state"][0]["exp_avg"])


def test_atomic_write_leaves_no_temporary_file_and_keeps_old_on_failure(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"epoch": 1})
    save_checkpoint(path, {"epoch": 2})
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]
    with pytest.raises(Exception):
        save_checkpoint(path, {"epoch": 3, "bad": lambda: None})  # cannot be pickled
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]
    assert load_checkpoint(path)["epoch"] == 2


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.pt"):
        load_checkpoint(tmp_path / "nothing.pt")


def test_rng_states_restore_every_generator(tmp_path):
    seed_everything(3)
    path = save_checkpoint(tmp_path / "rng.pt", {"rng": rng_states()})
    first = (random.random(), np.random.rand(), torch.rand(1).item(), np.random.randn())
    seed_everything(4)
    restore_rng_states(load_checkpoint(path)["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item(), np.random.randn()) == first


def test_seed_everything_makes_draws_repeatable():
    seed_everything(11)
    a = (random.random(), np.random.rand(), torch.randn(3))
    seed_everything(11)
    b = (random.random(), np.random.rand(), torch.randn(3))
    assert a[:2] == b[:2] and torch.equal(a[2], b[2])


def test_choose_device():
    assert choose_device("cpu") == torch.device("cpu")
    assert choose_device("auto").type in ("cuda", "mps", "cpu")
    if not torch.cuda.is_available():
        assert choose_device("auto").type in ("mps", "cpu")
        with pytest.raises(RuntimeError, match="CUDA"):
            choose_device("cuda")


@pytest.mark.parametrize("damage", ["empty", "cut off", "garbage", "text", "not a dict"])
def test_a_damaged_checkpoint_is_a_clear_error_naming_the_file(tmp_path, damage):
    good = save_checkpoint(tmp_path / "good.pt", _state()).read_bytes()
    path = tmp_path / "checkpoint.pt"
    if damage == "not a dict":
        torch.save(torch.ones(3), path)
    else:
        path.write_bytes({"empty": b"", "cut off": good[: len(good) // 2],
                          "garbage": bytes(range(256)) * 4, "text": b"hello\n" * 50}[damage])
    with pytest.raises(ValueError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message
    assert "weights_only" not in message  # never the advice to load it unsafely
