"""A run interrupted after epoch 1 and resumed ends with the weights and metrics of an
uninterrupted run (CPU)."""
import dataclasses

import pytest
import torch

from vreid_lite.config import get_preset
from vreid_lite.engine import evaluate, fit, seed_everything
from vreid_lite.engine.checkpoint import CHECKPOINT_NAME, load_checkpoint
from vreid_lite.experiment import load_data, make_loaders
from vreid_lite.models import build_criterion, build_model

EPOCHS = 2


@pytest.fixture(scope="module")
def data():
    full = load_data(get_preset("quick"))  # cut down: resuming does not depend on the size of the set
    train_ids = sorted({r.pid for r in full.train})[:16]
    test_ids = sorted({r.pid for r in full.query})[:15]
    return dataclasses.replace(
        full, train=[r for r in full.train if r.pid in train_ids],
        query=[r for r in full.query if r.pid in test_ids],
        gallery=[r for r in full.gallery if r.pid in test_ids])


def _train(data, checkpoint_dir, resume=False, log_fn=None):
    seed_everything(0)
    loader, num_classes = make_loaders(data, get_preset("quick"), "cpu", seed=0, progress=False)
    model = build_model("baseline", num_classes, backbone="quick_net")
    history = fit(model, build_criterion("baseline"), loader, epochs=EPOCHS, lr=1e-3,
                  warmup_epochs=1, device="cpu", checkpoint_dir=checkpoint_dir, resume=resume,
                  seed=0, progress=False, log_fn=log_fn)
    return model, history


def test_resume_matches_uninterrupted_run(data, tmp_path):
    full_model, full_history = _train(data, tmp_path / "full")

    def stop_after_first_epoch(record):
        if record["epoch"] == 2:
            raise KeyboardInterrupt  # as if stopped during epoch 2, before its checkpoint

    with pytest.raises(KeyboardInterrupt):
        _train(data, tmp_path / "cut", log_fn=stop_after_first_epoch)
    assert load_checkpoint(tmp_path / "cut" / CHECKPOINT_NAME)["epoch"] == 1

    torch.manual_seed(1234)  # other random states than the interrupted process had
    resumed_model, resumed_history = _train(data, tmp_path / "cut", resume=True)

    for (name, a), b in zip(full_model.state_dict().items(),
                            resumed_model.state_dict().values()):
        assert torch.equal(a, b), name
    timing = ("epoch_time_s", "images_per_s")
    assert [{k: v for k, v in e.items() if k not in timing} for e in full_history.epochs] == \
           [{k: v for k, v in e.items() if k not in timing} for e in resumed_history.epochs]
    a = evaluate(full_model, data, image_size=(64, 64), device="cpu")
    b = evaluate(resumed_model, data, image_size=(64, 64), device="cpu")
    assert a == b
