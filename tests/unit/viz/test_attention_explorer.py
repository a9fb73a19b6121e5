"""AttentionExplorer driven through its controls."""
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

from vreid_lite.data.records import Record
from vreid_lite.models import build_model
from vreid_lite.metrics.attention import MarkShare
from vreid_lite.viz.attention_explorer import AttentionExplorer, share_text


def small_scan(**options):
    """SCAN on a quick_net of width 8: 64 channels at the end."""
    return build_model("scan", 3, backbone="quick_net", pretrained=False, width=8, **options)


@pytest.fixture
def records(tmp_path):
    out = []
    for i, (w, h) in enumerate([(48, 24), (30, 30), (40, 20)]):
        path = tmp_path / f"000{i}_c00{i + 1}_0_0.jpg"
        pixels = np.random.default_rng(i).integers(0, 255, (h, w, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path)
        out.append(Record(str(path), i, i + 1, "side"))
    return out


@pytest.fixture
def explorer(records):
    torch.manual_seed(0)
    models = {name: small_scan(**options) for name, options in
              [("untrained", {}), ("trained", {}), ("+CAB", {"use_sab": False})]}
    marks = {records[0].name: [{"kind": "side_stripe", "box": [4, 10, 40, 14]}]}
    return AttentionExplorer(models, records, (32, 32), marks=marks, display_height=64)


def test_initial_state_shows_the_first_model_on_the_first_image(explorer):
    assert explorer.model.value == "untrained" and explorer.image.value == 0
    assert explorer.current_sab.shape == (4, 4)
    assert 0.5 <= explorer.current_sab.min() and explorer.current_sab.max() <= 1.0
    assert explorer.current_cab.shape == (64,)
    assert explorer.overlay.shape == (64, 128, 3)  # 48×24 scaled to 64 px high
    assert 0.0 <= explorer.current_share.share <= 1.0
    assert explorer.current_share.chance == pytest.approx(36 * 4 / (48 * 24))
    assert explorer.view.value[:4] == b"\x89PNG"
    assert "side_stripe" in explorer.caption.value


def test_picking_a_model_changes_the_maps(explorer):
    before = explorer.current_cab.copy()
    explorer.model.value = "trained"
    assert not np.allclose(before, explorer.current_cab)
    explorer.model.value = "+CAB"
    assert explorer.current_sab is None and explorer.current_share is None
    assert explorer.current_cab.shape == (64,)


def test_picking_an_image_follows_its_size_and_marks(explorer):
    explorer.image.value = 2
    assert explorer.overlay.shape == (64, 128, 3)
    assert explorer.current_share is None  # no marks listed for this image
    assert "0 marks" in explorer.caption.value
    explorer.image.value = 1
    assert explorer.overlay.shape == (64, 64, 3)


def test_alpha_changes_the_overlay_not_the_maps(explorer):
    sab, overlay = explorer.current_sab.copy(), explorer.overlay.copy()
    explorer.alpha.value = 0.0
    assert np.array_equal(explorer.current_sab, sab)
    assert not np.array_equal(explorer.overlay, overlay)
    assert np.array_equal(explorer.overlay, explorer.overlay_image(0, None))


def test_sort_toggle_redraws_the_bars(explorer):
    def bar_heights(fig):
        (bars,) = fig.axes[2].patches  # one StepPatch holding every channel's bar
        return bars.get_data().values.tolist()

    explorer.sort_channels.value = True
    heights = bar_heights(explorer.figure)
    assert heights == sorted(heights, reverse=True)
    explorer.sort_channels.value = False
    assert bar_heights(explorer.figure) == pytest.approx(explorer.current_cab.tolist())


def test_render_static_draws_a_row_per_model(explorer):
    fig = explorer.render_static(0)
    assert isinstance(fig, Figure) and len(fig.axes) == 9
    assert "no SAB" in fig.axes[7].get_title()
    fig = explorer.render_static(1, models=["trained"])
    assert len(fig.axes) == 3


def test_bad_input_is_named(records):
    model = small_scan()
    with pytest.raises(ValueError, match="at least one model"):
        AttentionExplorer({}, records, (32, 32))
    with pytest.raises(ValueError, match="at least one record"):
        AttentionExplorer({"m": model}, [], (32, 32))
    explorer = AttentionExplorer({"m": model}, records, (32, 32))
    with pytest.raises(KeyError, match="no model 'x'"):
        explorer.maps("x", 0)
    with pytest.raises(IndexError, match="image index 7"):
        explorer.maps("m", 7)


def test_small_shares_keep_a_decimal_and_their_ratio_to_chance():
    assert share_text(MarkShare(0.004, 0.003)) == \
        "0.4% of the mass (chance level 0.3%: 1.33×)"
    assert share_text(MarkShare(0.0, 0.0)) == "0.0% of the mass (chance level 0.0%)"


def test_the_saved_picture_is_the_model_on_show(explorer):
    explorer.model.value = "trained"
    fig = explorer.snapshot()
    assert len(fig.axes) == 3 and fig.axes[1].get_title().startswith("trained")
    text = explorer._repr_mimebundle_()["text/plain"]
    assert text.startswith("trained SAB and CAB on #0") and "of the mass" in text
