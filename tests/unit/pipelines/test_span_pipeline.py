"""SPAN's two training steps, the loss-combination variants and the mask IoU evaluation."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from vreid_lite.config import get_preset
from vreid_lite.data.dataset import ReIDImageDataset
from vreid_lite.data.records import VIEWS, DatasetError, ReIDDataset, Record
from vreid_lite.engine import evaluate
from vreid_lite.models import build_model
from vreid_lite.pipelines.span import (aggregation_name, aggregation_rows, evaluate_masks,
                                       mask_eval_images, mask_training_set, other_distance,
                                       predict_masks, rank_cat, reid_combinations,
                                       retrain_features, table1_frame, table2_gaps,
                                       train_features, train_mask_variants, train_masks,
                                       train_span, view_balanced)

UNLABELLED = ReIDDataset([], [], [], meta={"protocol": "none"})  # no retrieval evaluation
PRESET = get_preset("quick", epochs=1)


def make_batch(seed):
    g = torch.Generator().manual_seed(seed)
    masks = torch.zeros(8, 1, 32, 32, dtype=torch.uint8)
    masks[:, :, 8:24, 4:28] = 3
    masks[:, :, 8:24, 4:10] = 1
    return {"images": torch.randn(8, 3, 32, 32, generator=g),
            "pids": torch.arange(4).repeat_interleave(2),
            "views": torch.arange(8) % len(VIEWS), "masks": masks}


LOADER = [make_batch(0), make_batch(1)]  # fit needs only len() and iteration


def span(**options):
    torch.manual_seed(0)
    return build_model("span", 4, backbone="quick_net", pretrained=False, **options)


def snapshot(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def changed(before, module):
    return [k for k, v in module.state_dict().items() if not torch.equal(v, before[k])]


def test_step_one_trains_the_masks_alone_then_freezes_them():
    model = span()
    masks_before, parts_before = snapshot(model.mask_net), snapshot(model.part_net)
    history = train_masks(model, LOADER, UNLABELLED, PRESET, device="cpu", progress=False)
    assert len(history) == 1 and {"recon", "area", "div"} <= set(history.names())
    assert changed(masks_before, model.mask_net)
    assert changed(parts_before, model.part_net) == []
    assert model.masks_frozen and not model.mask_net.training


def test_step_two_leaves_the_masks_untouched_and_refuses_trainable_ones():
    model = span()
    masks_before, parts_before = snapshot(model.mask_net), snapshot(model.part_net)
    history, metrics = train_features(model, LOADER, UNLABELLED, PRESET, device="cpu",
                                      progress=False)
    assert metrics == {} and {"ce", "triplet", "total"} <= set(history.names())
    assert changed(masks_before, model.mask_net) == []   # weights and BatchNorm statistics
    assert changed(parts_before, model.part_net)
    model.freeze_masks(False)
    with pytest.raises(ValueError, match="still trainable"):
        train_features(model, LOADER, UNLABELLED, PRESET, device="cpu", progress=False)


def test_variants_start_from_the_same_weights_and_keep_the_full_one():
    model = span()
    start = snapshot(model.mask_net)
    variants = train_mask_variants(model, LOADER, UNLABELLED, PRESET,
                                   combinations=("recon", "full"), device="cpu", progress=False)
    assert list(variants) == ["recon", "full"]
    recon_alone = span()
    train_masks(recon_alone, LOADER, UNLABELLED, PRESET, use_area=False, use_div=False,
                device="cpu", progress=False)
    for key, value in recon_alone.mask_net.state_dict().items():
        torch.testing.assert_close(variants["recon"].state[key], value, msg=key)
    assert changed(start, model.mask_net)
    for key, value in model.mask_net.state_dict().items():
        assert torch.equal(value, variants["full"].state[key]), key
    with pytest.raises(ValueError, match="unknown loss combination"):
        train_mask_variants(model, LOADER, UNLABELLED, PRESET, combinations=("nope",))


def test_mask_iou_on_images_with_part_labels(tmp_path):
    records = []
    for i in range(3):
        image = tmp_path / f"{i}.png"
        mask = tmp_path / f"{i}_mask.png"
        Image.fromarray(np.full((32, 32, 3), 40 * i, np.uint8)).save(image)
        labels = np.zeros((32, 32), np.uint8)
        labels[8:24, 4:28] = 3
        Image.fromarray(labels).save(mask)
        records.append(Record(str(image), i, 0, view="side", mask_path=str(mask)))
    images = ReIDImageDataset(records, image_size=(32, 32), relabel=False, with_masks=True,
                              progress=False)
    model = span()
    predicted = predict_masks(model.mask_net, images, device="cpu")
    assert predicted["masks"].shape == (3, 3, 8, 8) and predicted["iou"].shape == (3, 3)
    summary = evaluate_masks(model.mask_net, images, device="cpu")
    assert summary["images/side"] == 3 and summary["images/front"] == 0
    assert math.isnan(summary["iou/front"]) and 0.0 <= summary["iou/side"] <= 1.0
    no_labels = ReIDImageDataset(records, image_size=(32, 32), relabel=False, progress=False)
    with pytest.raises(ValueError, match="with_masks"):
        evaluate_masks(model.mask_net, no_labels, device="cpu")


def test_train_span_runs_both_steps_or_reuses_a_mask_state():
    run = train_span(UNLABELLED, LOADER, 4, PRESET, device="cpu", progress=False,
                     model_options={"pretrained": False})
    assert run.mask_history is not None and run.model.masks_frozen
    assert run.options["distance"] == "cpdm" and run.options["combination"] == "full"
    fc = train_span(UNLABELLED, LOADER, 4, PRESET, device="cpu", progress=False,
                    mask_state=run.model.mask_net.state_dict(),
                    model_options={"pretrained": False, "aggregation": "fc"})
    assert fc.mask_history is None and fc.options["distance"] == "euclidean"
    for key, value in fc.model.mask_net.state_dict().items():
        assert torch.equal(value, run.model.mask_net.state_dict()[key]), key
    with pytest.raises(ValueError, match="combination"):
        train_span(UNLABELLED, LOADER, 4, PRESET, combination="nope")


def test_view_balanced_keeps_as_many_of_each_view_as_the_rarest_has():
    views = ["side"] * 5 + ["front"] * 2 + ["rear"] * 3 + [None] * 2
    records = [Record(f"{i}.jpg", i % 3, 0, view=v) for i, v in enumerate(views)]
    kept = view_balanced(records, seed=1)
    assert sorted(r.view for r in kept) == ["front", "front", "rear", "rear", "side", "side"]
    assert kept == [r for r in records if r in kept]            # original order
    assert kept == view_balanced(records, seed=1)
    assert len(view_balanced(records, per_view=1)) == 3
    with pytest.raises(ValueError, match="per_view=3"):
        view_balanced(records, per_view=3)
    with pytest.raises(DatasetError, match="viewpoint label"):
        view_balanced([Record("a.jpg", 0, 0)])
    data = ReIDDataset(records, records[:1], records[:1], meta={"protocol": "veri"})
    subset = mask_training_set(data, seed=1)
    assert subset.train == kept and subset.query == [] and subset.meta["protocol"] == "none"


def test_mask_eval_images_needs_part_labels(tmp_path):
    def records(value):
        out = []
        for i in range(2):
            image, mask = tmp_path / f"{value}_{i}.png", tmp_path / f"{value}_{i}_mask.png"
            Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(image)
            labels = np.zeros((16, 16), np.uint8)
            labels[4:12, 4:12] = value
            Image.fromarray(labels).save(mask)
            out.append(Record(str(image), i, i, view="side", mask_path=str(mask)))
        return out

    parts = ReIDDataset([], records(3), [], meta={"protocol": "veri"})
    assert len(mask_eval_images(parts, (16, 16))) == 2
    grabcut = ReIDDataset([], records(255), [], meta={"protocol": "veri"})
    assert mask_eval_images(grabcut, (16, 16)) is None       # foregrounds only: no parts
    unmasked = ReIDDataset([], [Record("x.png", 0, 0)], [], meta={"protocol": "veri"})
    assert mask_eval_images(unmasked, (16, 16)) is None


def test_table2_names_say_how_a_model_was_trained_and_ranked():
    assert aggregation_name("cpdm", "cpdm") == "Cat+CPDM"
    assert aggregation_name("euclidean", "euclidean") == "Cat+euclidean"
    assert aggregation_name("cpdm", "euclidean") == "CPDM-trained, euclidean-ranked"
    assert aggregation_name("euclidean", "cpdm") == "euclidean-trained, CPDM-ranked"
    assert other_distance("cpdm") == "euclidean" and other_distance("euclidean") == "cpdm"
    with pytest.raises(ValueError, match="cosine"):
        other_distance("cosine")
    rows = aggregation_rows({"cpdm": {"cpdm": 1, "euclidean": 2}, "euclidean": {"euclidean": 3}})
    assert list(rows.items()) == [("Cat+euclidean", 3), ("Cat+CPDM", 1),
                                  ("CPDM-trained, euclidean-ranked", 2)]
    with pytest.raises(ValueError, match="cosine"):
        aggregation_rows({"cpdm": {"cosine": 1}})


def test_retrain_features_repeats_step_two_on_the_given_masks(tmp_path):
    main = train_span(UNLABELLED, LOADER, 4, PRESET, device="cpu", progress=False,
                      model_options={"pretrained": False})
    masks = main.model.mask_net.state_dict()
    again, ranked = retrain_features("again", UNLABELLED, LOADER, 4, PRESET, mask_state=masks,
                                     distance="cpdm", model_options={"pretrained": False},
                                     device="cpu", checkpoint_dir=tmp_path)
    assert ranked == {} and again.mask_history is None
    assert list((tmp_path / "again" / "features").iterdir())
    for key, value in main.model.state_dict().items():   # same start, batches and masks
        torch.testing.assert_close(again.model.state_dict()[key], value, msg=key)
    other, _ = retrain_features("euclidean", UNLABELLED, LOADER, 4, PRESET, mask_state=masks,
                                distance="euclidean", model_options={"pretrained": False},
                                device="cpu")
    assert other.options["distance"] == "euclidean"
    assert changed(snapshot(main.model.part_net), other.model.part_net)


def eval_batches(seed):
    batch = make_batch(seed)
    return [{**batch, "camids": torch.arange(8) % 2}]


def test_rank_cat_ranks_the_same_features_both_ways():
    model = span().eval()
    data = ReIDDataset([], [Record("q.png", 0, 0)], [Record("g.png", 0, 1)],
                       meta={"protocol": "veri"})
    sets = {"query": eval_batches(2), "gallery": eval_batches(3)}
    ranked, features = rank_cat(model, data, (32, 32), device="cpu", image_sets=sets)
    assert set(ranked) == {"cpdm", "euclidean"}
    assert features["query"]["embedding"].shape == (8, 4, model.embed_dim)
    for distance, metrics in ranked.items():
        alone = evaluate(model, data, image_size=(32, 32), distance=distance, features=features)
        assert metrics["mAP"] == pytest.approx(alone["mAP"]), distance
    with pytest.raises(ValueError, match="aggregation='cat'"):
        rank_cat(span(aggregation="fc"), data, (32, 32), device="cpu", image_sets=sets)


def test_reid_combinations_reads_the_notebook_parameter():
    available = ("recon", "no_area", "no_div", "full")
    assert reid_combinations("recon", available) == ("recon",)
    assert reid_combinations(" no_div, recon ,recon", available) == ("no_div", "recon")
    assert reid_combinations("all", available) == ("recon", "no_area", "no_div")
    assert reid_combinations("", available) == ()
    with pytest.raises(ValueError, match="full combination always"):
        reid_combinations("full", available)
    with pytest.raises(ValueError, match="'recon'"):
        reid_combinations("recon", ("full",))


def test_table2_gaps_read_the_rows_present_with_the_papers_gap():
    rows = {"Cat+CPDM": {"mAP": 0.60}, "Cat+euclidean": {"mAP": 0.55}, "global only": {"mAP": 0.5}}
    lines = table2_gaps(rows)
    assert len(lines) == 2                  # no CPDM-trained, euclidean-ranked row
    assert lines[0].startswith("Cat+CPDM − Cat+euclidean: +5.0 mAP points")
    assert "Table 2: +5.8" in lines[0]      # 68.9 − 63.1
    assert lines[1].startswith("Cat+euclidean − global only: +5.0") and "Table 2" not in lines[1]


def test_table1_frame_puts_re_id_beside_mask_iou_and_the_paper():
    masks = {"recon": {"mask_iou": 0.4, "pooled_mask_iou": 0.3},
             "full": {"mask_iou": 0.1, "pooled_mask_iou": 0.1}}
    reid = {"full": {"mAP": 0.6, "rank1": 0.7}, "recon": {"mAP": 0.5, "rank1": 0.65}}
    frame = table1_frame(masks, reid, ("recon", "no_area", "no_div", "full"))
    assert list(frame.index) == ["recon", "full"]
    assert frame.loc["full", "mAP"] == pytest.approx(60) and frame.loc["recon", "mask_iou"] == 0.4
    assert frame.loc["full", "mAP (paper)"] == 68.6 and frame.loc["recon", "rank1 (paper)"] == 91.8
    assert table1_frame({}, {"full": reid["full"]}).loc["full", "mask_iou"] != 0.0  # NaN
