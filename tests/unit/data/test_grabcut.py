"""GrabCut foreground masks: quality against the renderer's ground truth, guards, bad input,
and ``make_masks`` / ``vreid data masks`` writing masks the VeRi-776 reader picks up."""
from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from vreid_lite.cli import main
from vreid_lite.data.dataset import ReIDImageDataset
from vreid_lite.data.formats import load_dataset
from vreid_lite.data.grabcut import grabcut_foreground, grabcut_mask, make_masks
from vreid_lite.data.records import FOREGROUND_LABEL, DatasetError
from vreid_lite.data.synthetic import render_dataset

TINY = {"name": "tiny_grabcut", "seed": 5, "train_ids": 2, "test_ids": 2,
        "images_per_id": [3, 3], "cameras": 4, "cameras_per_id": [2, 2], "image_size": [56, 64]}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    return render_dataset(TINY, tmp_path_factory.mktemp("synth") / "tiny", workers=1,
                          progress=False)


@pytest.fixture()
def unmasked(synthetic, tmp_path) -> Path:
    """A copy of the tiny set without its part masks, standing for a real VeRi-776 tree."""
    root = tmp_path / "veri"
    shutil.copytree(synthetic, root, ignore=shutil.ignore_patterns("masks"))
    return root


def _pairs(root: Path):
    for path in sorted(glob.glob(str(root / "image_t*" / "*.jpg"))):
        split = "train" if "image_train" in path else "test"
        truth = cv2.imread(str(root / "masks" / split / (Path(path).stem + ".png")),
                           cv2.IMREAD_UNCHANGED)
        yield cv2.imread(path), truth > 0


def test_foreground_matches_the_rendered_vehicle(synthetic):
    ious = []
    for image, truth in _pairs(synthetic):
        mask = grabcut_mask(image)
        assert mask.dtype == np.uint8 and mask.shape == truth.shape
        assert set(np.unique(mask)) <= {0, FOREGROUND_LABEL}
        fg = mask > 0
        ious.append((fg & truth).sum() / (fg | truth).sum())
    assert len(ious) >= 8
    assert np.mean(ious) > 0.6          # 0.71 on these 56-64 px crops
    image = next(_pairs(synthetic))[0]
    assert np.array_equal(grabcut_mask(image), grabcut_mask(image))  # seeded


def test_first_round_guard_keeps_the_vehicle_later_rounds_lose(synthetic):
    rescued = 0
    for image, truth in _pairs(synthetic):
        first = grabcut_mask(image, iterations=1)
        guarded, outcome = grabcut_foreground(image, iterations=5, min_kept=0.5)
        unguarded, last = grabcut_foreground(image, iterations=5, min_kept=0.0)
        lost = last == "rectangle" or (unguarded > 0).sum() < 0.5 * (first > 0).sum()
        assert (outcome == "first_round") == lost
        if lost:
            assert np.array_equal(guarded, first)
            iou = lambda m: ((m > 0) & truth).sum() / ((m > 0) | truth).sum()  # noqa: E731
            rescued += iou(guarded) > iou(unguarded) + 0.2
        else:
            assert np.array_equal(guarded, unguarded)
    assert rescued >= 1    # these small crops do collapse now and then


def test_rectangle_when_nothing_is_found():
    flat = np.full((40, 60, 3), 128, np.uint8)
    mask, outcome = grabcut_foreground(flat, margin=0.1)
    assert outcome == "rectangle"
    expected = np.zeros((40, 60), np.uint8)
    expected[4:36, 6:54] = FOREGROUND_LABEL
    assert np.array_equal(mask, expected)


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match="H×W×3 BGR"):
        grabcut_mask(np.zeros((20, 20), np.uint8))
    with pytest.raises(ValueError, match="margin"):
        grabcut_mask(np.zeros((20, 20, 3), np.uint8), margin=0.5)
    with pytest.raises(ValueError, match="iterations"):
        grabcut_mask(np.zeros((20, 20, 3), np.uint8), iterations=0)
    with pytest.raises(ValueError, match="leaves no rectangle"):
        grabcut_mask(np.zeros((2, 2, 3), np.uint8))


def test_make_masks_writes_what_the_reader_loads_and_resumes(unmasked):
    summary = make_masks("veri776", unmasked, workers=2, progress=False)
    data = load_dataset("veri776", str(unmasked))
    records = data.train + data.query + data.gallery
    assert summary.written == len(records) and summary.kept == 0
    assert all(r.mask_path and os.path.isfile(r.mask_path) for r in records)
    assert not glob.glob(str(unmasked / "masks" / "*" / ".*.tmp"))
    images = ReIDImageDataset(data.gallery, image_size=(32, 32), with_masks=True,
                               progress=False)
    values = set(np.unique(images.tensors()["masks"].numpy()))
    assert values == {0, FOREGROUND_LABEL}

    lost = Path(data.query[0].mask_path)
    lost.unlink()
    before = Path(data.train[0].mask_path).stat().st_mtime_ns
    again = make_masks("veri776", unmasked, progress=False)
    assert (again.written, again.kept) == (1, len(records) - 1) and lost.is_file()
    assert Path(data.train[0].mask_path).stat().st_mtime_ns == before
    redo = make_masks("veri776", unmasked, overwrite=True, progress=False)
    assert redo.written == len(records)


def test_make_masks_refuses_what_it_should(unmasked, synthetic):
    with pytest.raises(ValueError, match="'vehicleid' is not supported.*veri776"):
        make_masks("vehicleid", unmasked, progress=False)
    with pytest.raises(DatasetError, match="holds part labels"):
        make_masks("veri776", synthetic, overwrite=True, progress=False)
    kept = make_masks("veri776", synthetic, progress=False)   # ground truth is left alone
    assert kept.written == 0 and kept.kept > 0
    broken = sorted((unmasked / "image_query").glob("*.jpg"))[0]
    broken.write_bytes(b"not an image")
    with pytest.raises(DatasetError, match=f"{broken.name}: cannot decode"):
        make_masks("veri776", unmasked, workers=1, progress=False)


def test_cli_data_masks(unmasked, capsys):
    assert main(["data", "masks", "veri776", str(unmasked), "--iterations", "1",
                 "--workers", "1"]) == 0
    assert "written" in capsys.readouterr().out
    assert main(["data", "masks", "cityflow", str(unmasked)]) == 2
    assert "not supported" in capsys.readouterr().err
