import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from vreid_lite.data.dataset import ReIDImageDataset
from vreid_lite.data.loaders import EvalLoader, TrainLoader
from vreid_lite.data.records import Record
from vreid_lite.data.transforms import TrainAugment, normalize

KEYS = {"images", "pids", "camids", "views", "colors", "vtypes", "indices"}


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    folder = tmp_path_factory.mktemp("loader_images")
    rng = np.random.default_rng(1)
    out = []
    for i, pid in enumerate([pid for pid in range(6) for _ in range(3)] + [9]):
        path, mask_path = folder / f"{i:02d}.jpg", folder / f"{i:02d}.png"
        cv2.imwrite(str(path), rng.integers(0, 256, (20, 14, 3), dtype=np.uint8))
        Image.fromarray(rng.integers(0, 4, (20, 14), dtype=np.uint8)).save(mask_path)
        out.append(Record(str(path), pid * 10, camid=i % 4, view="rear", color=1,
                          mask_path=str(mask_path)))
    return out


def dataset(records, cache="on", masks=True):
    return ReIDImageDataset(records, (16, 8), cache=cache, with_masks=masks, progress=False)


def all_batches(loader, epoch):
    loader.set_epoch(epoch)
    return list(loader)


def test_train_batches_have_keys_dtypes_and_labels(records):
    ds = dataset(records)
    loader = TrainLoader(ds, p=3, k=2, seed=0)
    batches = all_batches(loader, 0)
    assert len(batches) == len(loader) > 0
    cache = ds.tensors()
    for b in batches:
        assert set(b) == KEYS | {"masks"}
        assert b["images"].dtype == torch.float32 and b["images"].shape == (6, 3, 16, 8)
        assert b["masks"].dtype == torch.uint8 and b["masks"].shape == (6, 1, 16, 8)
        assert all(b[k].dtype == torch.long and b[k].shape == (6,)
                   for k in KEYS - {"images"})
        assert all(t.device.type == "cpu" for t in b.values())
        assert torch.equal(b["pids"], cache["pids"][b["indices"]])
        assert (b["views"] == 1).all() and (b["vtypes"] == -1).all()
    assert "masks" not in next(iter(TrainLoader(dataset(records, masks=False), 3, 2)))


def test_without_augmentation_batches_are_the_normalised_cache(records):
    ds = dataset(records)
    plain = TrainAugment(p_flip=0, pad=0, erase_p=0)
    for b in TrainLoader(ds, 2, 2, augment=plain):
        cache = ds.tensors()
        torch.testing.assert_close(b["images"], normalize(cache["images"][b["indices"]]))
        assert torch.equal(b["masks"], cache["masks"][b["indices"]])


def test_same_epoch_and_seed_replays_identical_batches(records):
    ds = dataset(records)
    a, b = TrainLoader(ds, 3, 2, seed=4), TrainLoader(ds, 3, 2, seed=4)
    first, again = all_batches(a, 2), all_batches(b, 2)
    for x, y in zip(first, again, strict=True):
        assert x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)
    other = all_batches(a, 3)
    assert not all(torch.equal(x["images"], y["images"]) for x, y in zip(first, other))


def test_streaming_path_matches_the_cached_path(records):
    cached = TrainLoader(dataset(records, cache="on"), 3, 2, seed=1)
    streamed = TrainLoader(dataset(records, cache="off"), 3, 2, seed=1, workers=1)
    for x, y in zip(all_batches(cached, 1), all_batches(streamed, 1), strict=True):
        assert all(torch.equal(x[k], y[k]) for k in x)


@pytest.mark.parametrize("cache", ["on", "off"])
def test_eval_loader_keeps_dataset_order(records, cache):
    ds = dataset(records, cache=cache, masks=False)
    loader = EvalLoader(ds, batch_size=7)
    batches = list(loader)
    assert [len(b["indices"]) for b in batches] == [7, 7, 5] and len(loader) == 3
    assert set(batches[0]) == KEYS
    indices = torch.cat([b["indices"] for b in batches])
    assert indices.tolist() == list(range(len(ds)))
    assert torch.cat([b["pids"] for b in batches]).tolist() == ds.labels
    images = torch.stack([ds[i]["image"] for i in range(len(ds))])
    torch.testing.assert_close(torch.cat([b["images"] for b in batches]), normalize(images))
