"""map_mass_shares: a flat map scores exactly the chance row, a map on the vehicle beats it."""
import math

import pytest
import torch
from torch import nn

from vreid_lite.data.formats import load_dataset
from vreid_lite.data.marks import load_marks
from vreid_lite.data.synthetic import render_dataset
from vreid_lite.engine.maps import map_mass_shares
from vreid_lite.models.output import ReIDOutput

TINY = {"name": "tiny_map_mass", "seed": 9, "train_ids": 2, "test_ids": 3,
        "images_per_id": [3, 4], "cameras": 3, "cameras_per_id": [2, 3], "image_size": [32, 40],
        "scenes": 4}


class FlatMaps(nn.Module):
    """A uniform map, and one that is zero on the left half of the image."""

    def forward(self, images):
        n, _, h, w = images.shape
        right = torch.ones(n, 1, h, w)
        right[..., : w // 2] = 0
        return ReIDOutput(embedding=torch.zeros(n, 2),
                          maps={"flat": torch.ones(n, 1, h // 4, w // 4), "right": right})


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = render_dataset(TINY, tmp_path_factory.mktemp("synth") / "tiny", workers=1,
                          progress=False)
    return load_dataset("veri776", str(root))


def test_a_flat_map_scores_the_chance_row(dataset):
    records = dataset.query + dataset.gallery
    marks = load_marks(dataset.meta["marks_path"])
    rows = map_mass_shares(FlatMaps(), records, marks, (32, 40), ("flat", "right"), device="cpu")
    assert list(rows) == ["flat", "right", "flat map (chance)"]
    chance = rows["flat map (chance)"]
    assert 0 < chance["on the vehicle"] < 1
    assert rows["flat"]["on the vehicle"] == pytest.approx(chance["on the vehicle"], abs=1e-6)
    if any(marks.get(r.name) for r in records):
        assert rows["flat"]["in the marks"] == pytest.approx(chance["in the marks"], abs=1e-6)
    else:
        assert math.isnan(rows["flat"]["in the marks"])
    assert rows["right"]["on the vehicle"] != pytest.approx(chance["on the vehicle"], abs=1e-3)
