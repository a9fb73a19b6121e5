import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from vreid_lite.data import dataset as dataset_module
from vreid_lite.data.dataset import ReIDImageDataset, split_source
from vreid_lite.data.records import DatasetError, Record, ReIDDataset


def write_set(folder, pids, size=(40, 30), masks=True):
    """One JPEG (h×w = size) and one part-mask PNG per pid; returns the records."""
    rng = np.random.default_rng(0)
    records = []
    for i, pid in enumerate(pids):
        image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        path = folder / f"{i:03d}.jpg"
        cv2.imwrite(str(path), image)
        mask_path = None
        if masks:
            mask_path = folder / f"{i:03d}.png"
            Image.fromarray(rng.integers(0, 4, size, dtype=np.uint8)).save(mask_path)
        records.append(Record(str(path), pid, camid=i % 3, view="side" if i % 2 else None,
                              color=i % 5 if i % 3 else None, vtype=2,
                              mask_path=str(mask_path) if mask_path else None))
    return records


def test_decodes_and_resizes_images_and_masks(tmp_path):
    records = write_set(tmp_path, [5, 5, 9])
    ds = ReIDImageDataset(records, image_size=(24, 16), cache="off", with_masks=True,
                          progress=False)
    item = ds[1]
    assert item["image"].dtype == torch.uint8 and item["image"].shape == (3, 24, 16)
    assert item["mask"].dtype == torch.uint8 and item["mask"].shape == (1, 24, 16)
    assert set(item["mask"].unique().tolist()) <= {0, 1, 2, 3}
    assert item["index"].item() == 1 and item["pid"].dtype == torch.long
    assert item["camid"].item() == 1 and item["vtype"].item() == 2
    assert item["view"].item() == 2  # VIEWS.index("side")
    assert ds[0]["view"].item() == -1 and ds[0]["color"].item() == -1
    assert len(ds) == 3


def test_images_are_rgb(tmp_path):
    path = tmp_path / "red.png"
    Image.fromarray(np.full((8, 8, 3), (255, 0, 0), dtype=np.uint8)).save(path)
    ds = ReIDImageDataset([Record(str(path), 1, 1)], image_size=(4, 4), progress=False)
    assert ds[0]["image"][:, 0, 0].tolist() == [255, 0, 0]


def test_cached_and_uncached_items_are_identical(tmp_path):
    records = write_set(tmp_path, [3, 1, 3, 2, 1])
    on = ReIDImageDataset(records, (20, 12), cache="on", with_masks=True, progress=False)
    off = ReIDImageDataset(records, (20, 12), cache="off", with_masks=True, progress=False)
    assert on.cached and not off.cached
    for i in range(len(records)):
        a, b = on[i], off[i]
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), key


def test_relabel_is_contiguous_and_sorted(tmp_path):
    records = write_set(tmp_path, [30, 7, 7, 12], masks=False)
    ds = ReIDImageDataset(records, (8, 8), progress=False)
    assert ds.pid_to_label == {7: 0, 12: 1, 30: 2}
    assert ds.labels == [2, 0, 0, 1] and ds.num_classes == 3
    assert [ds[i]["pid"].item() for i in range(4)] == [2, 0, 0, 1]
    raw = ReIDImageDataset(records, (8, 8), relabel=False, progress=False)
    assert raw.labels == [30, 7, 7, 12] and raw.num_classes == 3
    assert raw[0]["pid"].item() == 30


def test_tensors_stack_the_cache(tmp_path):
    records = write_set(tmp_path, [4, 4, 6])
    ds = ReIDImageDataset(records, (10, 6), cache="on", with_masks=True, progress=False)
    t = ds.tensors()
    assert set(t) == {"images", "pids", "camids", "views", "colors", "vtypes", "masks"}
    assert t["images"].shape == (3, 3, 10, 6) and t["masks"].shape == (3, 1, 10, 6)
    assert t["pids"].tolist() == [0, 0, 1] and t["colors"].tolist() == [-1, 1, 2]
    assert torch.equal(t["images"][2], ds[2]["image"])


def test_auto_cache_follows_the_size_limit(tmp_path, monkeypatch):
    records = write_set(tmp_path, [1, 2], masks=False)
    assert ReIDImageDataset(records, (8, 8), progress=False).cached
    monkeypatch.setattr(dataset_module, "CACHE_LIMIT_BYTES", 2 * 3 * 8 * 8 - 1)
    ds = ReIDImageDataset(records, (8, 8), progress=False)
    assert not ds.cached
    with pytest.raises(RuntimeError, match="cache"):
        ds.tensors()


@pytest.mark.parametrize("cache", ["on", "off"])
def test_missing_image_names_path_and_index(tmp_path, cache):
    records = write_set(tmp_path, [1, 2, 3], masks=False)
    missing = str(tmp_path / "nowhere.jpg")
    records[2] = Record(missing, 3, 0)
    with pytest.raises(DatasetError, match=r"nowhere\.jpg.*record 2"):
        ds = ReIDImageDataset(records, (8, 8), cache=cache, progress=False)
        ds[2]


@pytest.mark.parametrize("cache", ["on", "off"])
def test_corrupt_image_names_path_and_index(tmp_path, cache):
    records = write_set(tmp_path, [1, 2], masks=False)
    (tmp_path / "001.jpg").write_bytes(b"not a jpeg at all")
    with pytest.raises(DatasetError, match=r"001\.jpg.*record 1"):
        ds = ReIDImageDataset(records, (8, 8), cache=cache, progress=False)
        ds[1]


def test_masks_required_for_every_record(tmp_path):
    records = write_set(tmp_path, [1, 2])
    records[1] = Record(records[1].path, 2, 0)
    with pytest.raises(DatasetError, match=r"001\.jpg.*record 1.*mask"):
        ReIDImageDataset(records, (8, 8), with_masks=True, progress=False)


def test_mask_with_values_outside_part_labels_is_rejected(tmp_path):
    records = write_set(tmp_path, [1])
    Image.fromarray(np.full((40, 30), 7, dtype=np.uint8)).save(records[0].mask_path)
    with pytest.raises(DatasetError, match=r"000\.png.*record 0.*value 7"):
        ReIDImageDataset(records, (8, 8), with_masks=True, cache="on", progress=False)


def test_bad_labels_are_rejected(tmp_path):
    records = write_set(tmp_path, [1, -1], masks=False)
    with pytest.raises(DatasetError, match="record 1.*unlabelled"):
        ReIDImageDataset(records, (8, 8), progress=False)
    assert ReIDImageDataset(records, (8, 8), relabel=False, progress=False).labels == [1, -1]
    records[0] = Record(records[0].path, 1, 0, view="top")
    with pytest.raises(DatasetError, match="record 0.*'top'"):
        ReIDImageDataset(records, (8, 8), relabel=False, progress=False)
    with pytest.raises(ValueError, match="cache"):
        ReIDImageDataset(records, (8, 8), cache="yes")


def test_no_records_names_the_root_and_split():
    data = ReIDDataset([], [], [], meta={"name": "veri776", "root": "/data/VeRi"})
    with pytest.raises(DatasetError, match=r"/data/VeRi, split 'query': no records to load"):
        ReIDImageDataset(data.query, source=split_source(data, "query"))
    unnamed = ReIDDataset([], [], [], meta={})
    assert split_source(unnamed, "train") == "the dataset, split 'train'"
    with pytest.raises(DatasetError, match="the given records: no records"):
        ReIDImageDataset([])
