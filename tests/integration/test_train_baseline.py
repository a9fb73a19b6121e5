"""Training the quick baseline from scratch on the synthetic set clearly beats the untrained
network (from scratch: the shipped pretrained backbone already ranks well before training)."""
import json

import pytest

from vreid_lite.config import get_preset
from vreid_lite.engine import evaluate, seed_everything
from vreid_lite.experiment import load_data, train_model
from vreid_lite.models import build_model
from vreid_lite.runs import record


@pytest.fixture(scope="module")
def data():
    return load_data(get_preset("quick"))  # renders synth_quick into the data folder on first use


def test_quick_baseline_learns(data, tmp_path):
    seed_everything(0)
    untrained = build_model("baseline", data.meta["num_train_ids"], backbone="quick_net",
                            pretrained=None)
    before = evaluate(untrained, data, image_size=(64, 64), device="cpu")

    # from scratch at the quick preset's former rate, 1e-3, for 4 epochs
    preset = get_preset("quick", epochs=4, lr=1e-3)
    model, history, metrics = train_model("baseline", preset, device="cpu", seed=0, data=data,
                                          model_options={"pretrained": None}, run_dir=tmp_path,
                                          progress=False)
    assert metrics["mAP"] >= before["mAP"] + 0.05
    assert metrics["mAP"] >= 1.3 * before["mAP"]
    assert len(history) == 4 and history.series("total")[-1] < history.series("total")[0]
    assert {"ce", "triplet", "total", "lr"} <= set(history.epochs[0])
    assert history.last("mAP") == pytest.approx(metrics["mAP"])
    assert (tmp_path / "checkpoint.pt").is_file()

    record(tmp_path, metrics=metrics, history=history)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["mAP"] == pytest.approx(metrics["mAP"]) and len(saved["cmc"]) == 50


def test_load_data_reads_a_given_root(data):
    again = load_data(get_preset("quick"), data_root=data.meta["root"], kind="veri776")
    assert again.summary() == data.summary()
