"""ANet's two steps: the backbone gets gradients in step 1 and none in step 2; the AC control
and Table 1's rows."""
from __future__ import annotations

import pytest
import torch

from vreid_lite.config import get_preset
from vreid_lite.models import build_model
from vreid_lite.models.anet_losses import ANetACCriterion, ANetCriterion
from vreid_lite.pipelines.anet import (FREEZE, attribute_classes, step2_epochs, train_step1,
                                       train_step2)

QUICK = get_preset("quick")


def make_batch(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"images": torch.randn(8, 3, 32, 32, generator=g),
            "pids": torch.arange(4).repeat_interleave(2),
            "colors": torch.tensor([0, 0, 1, 1, 2, 2, 1, 1]),
            "vtypes": torch.tensor([1, 1, 0, 0, 1, 1, -1, -1])}


def make_model():
    torch.manual_seed(0)
    return build_model("anet", 4, backbone="quick_net", pretrained=False, num_colors=3,
                       num_types=2)


def grads(module):
    return [p.grad for p in module.parameters()]


def test_step1_loss_reaches_the_backbone():
    model = make_model().train()
    batch = make_batch()
    ANetCriterion()(model(batch["images"]), batch)["total"].backward()
    assert all(g is not None and g.abs().sum() > 0 for g in grads(model.backbone))


@pytest.mark.parametrize("freeze", ["backbone+f", "backbone"])
def test_step2_loss_leaves_the_backbone_alone(freeze):
    model = make_model()
    model.freeze(FREEZE[freeze])
    model.train()
    batch = make_batch()
    ANetACCriterion()(model(batch["images"]), batch)["total"].backward()
    assert all(g is None for g in grads(model.backbone))
    assert all(g is not None for g in grads(model.joint_module))
    assert all(g is not None for g in grads(model.attributes))
    f_grads = [p.grad for p in model.f_head.parameters() if p.requires_grad]
    if freeze == "backbone+f":
        assert f_grads == []
    else:  # only the AC terms reach f's head
        assert f_grads and all(g is not None for g in f_grads)


def test_the_two_steps_train_what_they_should():
    model = make_model()
    loader = [make_batch(0), make_batch(1)]
    start = {k: v.clone() for k, v in model.state_dict().items()}
    history, metrics = train_step1(model, loader, None, QUICK, epochs=1, device="cpu",
                                   evaluate_model=False, progress=False)
    assert metrics == {} and {"ce_f", "triplet_g", "total"} <= set(history.names())
    after1 = {k: v.clone() for k, v in model.state_dict().items()}
    assert not torch.equal(after1["backbone.stem.0.weight"], start["backbone.stem.0.weight"])

    history, _ = train_step2(model, loader, None, QUICK, epochs=1, device="cpu",
                             evaluate_model=False, progress=False)
    assert {"ac_id", "ac_tri"} <= set(history.names())
    after2 = model.state_dict()
    for name, value in after1.items():  # weights and BatchNorm statistics of the frozen parts
        if name.startswith(("backbone.", "f_head.")):
            assert torch.equal(after2[name], value), name
    assert not torch.equal(after2["joint_module.theta_a.0.weight"],
                           after1["joint_module.theta_a.0.weight"])
    assert model.frozen == ("backbone", "f_head")


def test_step2_needs_the_joint_module_and_a_known_freeze():
    van = build_model("anet", 4, backbone="quick_net", pretrained=False, joint=False)
    with pytest.raises(ValueError, match="joint=False"):
        train_step2(van, [make_batch()], None, QUICK, epochs=1, device="cpu",
                    evaluate_model=False, progress=False)
    with pytest.raises(ValueError, match="freeze='all'"):
        train_step2(make_model(), [make_batch()], None, QUICK, freeze="all")


def test_step2_defaults_to_the_papers_share_of_step1():
    assert step2_epochs(150) == 60 and step2_epochs(12) == 5 and step2_epochs(1) == 1


def test_attribute_classes_need_named_attributes():
    from vreid_lite.data.records import ReIDDataset

    data = ReIDDataset([], [], [], {"name": "cityflow", "color_names": [], "type_names": []})
    with pytest.raises(ValueError, match="cityflow names 0 colours and 0 types"):
        attribute_classes(data)


def test_train_anet_and_van_give_their_table1_rows(tmp_path):
    from vreid_lite.data.records import ReIDDataset
    from vreid_lite.experiment import load_data, make_loaders
    from vreid_lite.pipelines.anet import TABLE1_ROWS, train_anet, train_van

    full = load_data(get_preset("quick"))  # the synthetic set (rendered on first use)
    train_ids = sorted({r.pid for r in full.train})[:6]
    test_ids = sorted({r.pid for r in full.query})[:4]
    data = ReIDDataset([r for r in full.train if r.pid in train_ids],
                       [r for r in full.query if r.pid in test_ids],
                       [r for r in full.gallery if r.pid in test_ids], dict(full.meta))
    preset = get_preset("quick", image_size=(32, 32), p=4, k=2, epochs=1)
    loader, num_classes = make_loaders(data, preset, "cpu", progress=False)
    run = train_anet(data, loader, num_classes, preset, ac_epochs=1, device="cpu",
                     checkpoint_dir=tmp_path, progress=False)
    assert list(run.rows) == ["ANet(j) after step 1", "ANet(j) w/o AC", "ANet(j)"]
    assert set(run.rows["ANet(j)"]) == {"mAP", "rank1", "rank5", "mINP"}
    assert set(run.metrics) == {"f", "fa", "j"} and run.model.frozen == ("backbone", "f_head")
    assert run.rows["ANet(j) after step 1"]["mAP"] == pytest.approx(
        run.step1_metrics["j"]["mAP"])
    assert {"color_acc", "type_acc"} <= set(run.attributes)
    assert run.attributes["color_labelled"] == len(data.query) + len(data.gallery)
    assert (tmp_path / "step1" / "checkpoint.pt").is_file()
    assert (tmp_path / "step2" / "checkpoint.pt").is_file()
    van = train_van(data, loader, num_classes, preset, device="cpu", progress=False)
    assert set(van.rows) == {"VAN(f)", "VAN(fa)"} and van.model.joint_module is None
    assert set(van.rows) | set(run.rows) | {"Baseline"} == set(TABLE1_ROWS)


def test_the_ac_control_is_step2_with_l_from_the_step1_weights(monkeypatch):
    """"ANet(j) w/o AC" starts where step 2 starts and trains what step 2 trains, with L."""
    import vreid_lite.pipelines.anet as pipeline

    model = make_model()
    loader = [make_batch(0), make_batch(1)]
    train_step1(model, loader, None, QUICK, epochs=1, device="cpu", evaluate_model=False,
                progress=False)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    seen = {}

    def step2(model, loader, data, preset, **options):
        seen.update(options, state=model.state_dict())
        return None, {}

    monkeypatch.setattr(pipeline, "train_step2", step2)
    monkeypatch.setattr(pipeline, "build_anet", lambda *a, **k: make_model())
    monkeypatch.setattr(pipeline, "extract_test_outputs", lambda *a, **k: {})
    monkeypatch.setattr(pipeline, "score_feature", lambda *a, **k: {"mAP": 0.5})
    out = pipeline.train_ac_control(None, loader, 4, QUICK, state, epochs=3, lr=1e-5,
                                    freeze="backbone", device="cpu", image_sets={},
                                    criterion_options={"ac_mine_on": "f", "lam": 0.5})
    assert out == {"mAP": 0.5}
    assert (seen["epochs"], seen["lr"], seen["freeze"]) == (3, 1e-5, "backbone")
    assert type(seen["criterion"]) is ANetCriterion and seen["criterion"].lam == 0.5
    assert all(torch.equal(seen["state"][k], v) for k, v in state.items())


def test_table1_says_why_a_row_is_missing():
    from vreid_lite.pipelines.anet import ordered_table1, table1_caption

    rows = {"ANet(j)": {}, "ANet(j) after step 1": {}, "VAN(f)": {}, "other": {}}
    assert list(ordered_table1(rows)) == ["VAN(f)", "ANet(j) after step 1", "ANet(j)"]
    caption = table1_caption(rows, "resnet50", "standard", 40, 16, 0.1)
    assert "resnet50 (no IBN)" in caption and "0.001×" in caption and "0.1×" in caption
    assert "ANet(j) w/o AC (ac_control = False" in caption and "Baseline (ablation" in caption
    full = dict(rows, **{"Baseline": {}, "VAN(fa)": {}, "ANet(j) w/o AC": {}})
    assert "Not run" not in table1_caption(full, "quick_net", "quick", 9, 4, 0.1)
