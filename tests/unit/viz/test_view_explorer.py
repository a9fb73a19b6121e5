"""ViewpointExplorer: driving its controls changes its state; its static figure."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from vreid_lite.data.dataset import ReIDImageDataset
from vreid_lite.data.records import Record
from vreid_lite.models import build_model
from vreid_lite.viz.ranked_list import RankedListExplorer
from vreid_lite.viz.view_explorer import ViewpointExplorer, ranked_list_with_views


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("views")
    rng = np.random.default_rng(0)
    records = []
    for i, view in enumerate(["front", "rear_side", "side", None]):
        path = folder / f"{i:04d}_c001_0_{i}.png"
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(path)
        records.append(Record(str(path), pid=i, camid=1, view=view))
    return ReIDImageDataset(records, image_size=(32, 32), relabel=False, progress=False)


def mvan(**options):
    torch.manual_seed(0)
    return build_model("mvan", 4, backbone="quick_net", vnet_backbone="quick_net",
                       pretrained=False, **options)


def test_explorer_follows_its_controls(images):
    model = mvan()
    explorer = ViewpointExplorer(model, images)
    state = explorer.state()
    assert state["view"] == "front" and state["name"] == "0000_c001_0_0.png"
    assert state["maps"] == sorted(f"{k}/{b}" for k in ("feature", "gam", "lam")
                                   for b in ("front", "rear", "side"))
    assert explorer.current_probs.shape == (3,)
    assert explorer.current_probs.sum() == pytest.approx(1.0, abs=1e-5)
    lam = explorer.current_maps["lam/side"]
    assert lam.shape == (4, 4) and lam.sum() == pytest.approx(1.0, abs=1e-5)
    first_png = explorer.picture.value
    assert first_png[:4] == b"\x89PNG"

    explorer.index.value = 1
    assert explorer.current_view == "rear"  # rear_side belongs to the rear class
    assert explorer.current_record.name == "0001_c001_0_1.png"
    assert explorer.picture.value != first_png
    assert "labelled rear" in explorer.caption.value
    with torch.no_grad():
        from vreid_lite.data.transforms import normalize
        expected = model.eval()(normalize(images[1]["image"])[None]).maps["viewpoint"][0]
    np.testing.assert_allclose(explorer.current_probs, expected.numpy(), rtol=1e-5)

    explorer.index.value = 3
    assert explorer.current_view is None and "no class" in explorer.caption.value


def test_the_clearest_example_of_a_view_is_the_most_confident_labelled_one(tmp_path):
    rng = np.random.default_rng(1)
    records = []
    for i, view in enumerate(["side", "front", "side", "side", "rear"]):
        path = tmp_path / f"{i:04d}_c001_0_{i}.png"
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(path)
        records.append(Record(str(path), pid=i, camid=1, view=view))
    images = ReIDImageDataset(records, image_size=(32, 32), relabel=False, progress=False)
    explorer = ViewpointExplorer(mvan(), images)
    side = explorer.view_names.index("side")
    p_side = {i: explorer.analyse(i)[0][side] for i in (0, 2, 3)}
    assert explorer.clearest("side") == max(p_side, key=p_side.get)
    assert explorer.clearest("front") == 1 and explorer.clearest("rear") == 4
    two_views = ViewpointExplorer(mvan(num_views=2), images)
    assert set(two_views.view_names) == {"front", "rear"}
    with pytest.raises(ValueError, match="the V-Net's views"):
        two_views.clearest("side")


def test_alpha_redraws_without_recomputing(images):
    explorer = ViewpointExplorer(mvan(), images)
    probs = explorer.current_probs
    png = explorer.picture.value
    explorer.alpha.value = 0.9
    assert explorer.current_probs is probs  # cached analysis
    assert explorer.picture.value != png


def test_static_figure_has_a_panel_per_branch_and_map(images):
    explorer = ViewpointExplorer(mvan(num_views=2, variant="+GAM"), images)
    fig = explorer.render_static(2)
    # image + bars, then the GAM row: label + one panel per branch (front, rear)
    assert len(fig.axes) == 2 + 1 + 2
    titles = [ax.get_title() for ax in fig.axes]
    assert any(t.startswith("front  p=") for t in titles)
    assert explorer.kinds(explorer.analyse(2)[1]) == ["gam"]
    no_attention = ViewpointExplorer(mvan(variant="Multi-View"), images)
    assert no_attention.kinds(no_attention.current_maps) == ["feature"]


def test_explorer_rejects_models_without_a_vnet_and_bad_indices(images):
    with pytest.raises(ValueError, match="needs an MVAN model with a V-Net"):
        ViewpointExplorer(mvan(variant="Baseline-1"), images)
    explorer = ViewpointExplorer(mvan(), images)
    with pytest.raises(IndexError, match="image index 9 out of range"):
        explorer.render_static(9)


def test_ranked_list_panels_carry_their_viewpoints(images):
    recs = images.records
    # query 0; gallery 1, 2, 3 at distances 0.3, 0.1, 0.2 -> ranked 2, 3, 1
    explorer = RankedListExplorer(recs[:1], recs[1:], torch.tensor([[0.3, 0.1, 0.2]]),
                                  [0], [1, 2, 3], [1], [2, 2, 2], k=3)
    fig = ranked_list_with_views(explorer, 0, ["front"], ["rear", "side", "?"], title="MVAN")
    assert [ax.get_title().rsplit("\n", 1)[1] for ax in fig.axes] == ["front", "side", "?",
                                                                       "rear"]
    assert fig.get_suptitle().startswith("MVAN: query #0")
    with pytest.raises(ValueError, match="expected 1 query and 3 gallery viewpoints"):
        ranked_list_with_views(explorer, 0, ["front"], ["rear"])
