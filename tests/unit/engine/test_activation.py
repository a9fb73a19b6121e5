"""Feature energy of a model's final maps, and the shortcut report notebooks record."""
import pytest
import torch
from torch import nn

from vreid_lite.data.formats import load_dataset
from vreid_lite.data.synthetic import render_dataset
from vreid_lite.engine.activation import (energy_layers, feature_energy, masked_images,
                                          shortcut_report)
from vreid_lite.engine.evaluate import evaluate
from vreid_lite.models import build_model
from vreid_lite.viz.foreground import foreground_figure

TINY = {"name": "tiny_energy", "seed": 5, "train_ids": 3, "test_ids": 3, "images_per_id": [3, 4],
        "cameras": 3, "cameras_per_id": [2, 3], "image_size": [32, 40], "scenes": 4}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = render_dataset(TINY, tmp_path_factory.mktemp("synth") / "tiny", workers=1,
                          progress=False)
    return load_dataset("veri776", str(root))


class TwoBranches(nn.Module):
    """Two branches whose maps are known: ones and twos."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Identity(), nn.Identity()

    def energy_layers(self):
        return [self.a, self.b]

    def forward(self, images):
        ones = torch.ones(len(images), 3, 4, 4)
        return self.a(ones) + self.b(2 * ones)


def test_energy_sums_the_squares_over_channels_and_layers(dataset):
    images = masked_images(dataset.query, (32, 32))
    maps = feature_energy(TwoBranches(), images, device="cpu")
    assert maps.shape == (len(dataset.query), 4, 4)
    torch.testing.assert_close(maps, torch.full_like(maps, 3 * 1 + 3 * 4))


def test_every_paper_model_names_its_final_maps():
    for name, options in (("baseline", {}), ("scan", {}), ("mvan", {"vnet_backbone": "quick_net"}),
                          ("span", {"mask_backbone": "quick_net"}), ("anet", {})):
        model = build_model(name, 5, backbone="quick_net", pretrained=None, **options)
        assert all(isinstance(m, nn.Module) for m in energy_layers(model)), name


def test_shortcut_report_records_the_four_keys(dataset):
    model = build_model("baseline", 3, backbone="quick_net", pretrained=None)
    ev = evaluate(model, dataset, image_size=(32, 32), device="cpu", return_features=True)
    report = shortcut_report(model, dataset, ev["features"], (32, 32), device="cpu")
    assert set(report) == {"foreground_share", "foreground_area", "own_camera_topk",
                           "own_camera_expected", "foreground_ratio", "camera_ratio"}
    assert report["camera_ratio"] == pytest.approx(report["own_camera_topk"]
                                                   / report["own_camera_expected"])
    assert 0 < report["foreground_area"] < 1 and 0 <= report["foreground_share"] <= 1
    assert 0 < report["own_camera_expected"] < 1 and 0 <= report["own_camera_topk"] <= 1


def test_foreground_figure_draws_one_column_per_image(dataset):
    images = masked_images(dataset.query[:3], (32, 32))
    tensors = images.tensors()
    fig = foreground_figure(tensors["images"], torch.rand(3, 4, 4), tensors["masks"])
    assert len(fig.axes) == 6
    assert "on vehicle" in fig.axes[3].texts[0].get_text()


def test_shortcut_table_shows_shares_and_ratios():
    from vreid_lite.viz.foreground import shortcut_table

    report = {"foreground_share": 0.6, "foreground_area": 0.5, "foreground_ratio": 1.2,
              "own_camera_topk": 0.1, "own_camera_expected": 0.05, "camera_ratio": 2.0}
    html = shortcut_table({"baseline": report}).to_html()
    assert "60%" in html and "1.20" in html and "2.00" in html and "baseline" in html


def test_make_loaders_swaps_backgrounds_only_with_masks(dataset):
    import dataclasses

    from vreid_lite.config import get_preset
    from vreid_lite.experiment import make_loaders

    preset = get_preset("quick", bg_swap=0.5, p=3, k=2, image_size=(32, 32))
    loader, _ = make_loaders(dataset, preset, "cpu", progress=False)
    assert loader.augment.bg_swap == 0.5 and "masks" in next(iter(loader))
    no_masks = dataclasses.replace(dataset, train=[dataclasses.replace(r, mask_path=None)
                                                   for r in dataset.train])
    with pytest.warns(UserWarning, match="without the background swap"):
        loader, _ = make_loaders(no_masks, preset, "cpu", progress=False)
    assert loader.augment.bg_swap == 0.0
