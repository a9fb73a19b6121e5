"""CPDMExplorer driven through its controls, against hand-computed CPDM values."""
import io
import re

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("ipywidgets")

from vreid_lite.viz.cpdm_explorer import PAIR_GAP, CPDMExplorer  # noqa: E402

# three images, d = 2: image 0 front-side, image 1 rear-side, image 2 rear only
FEATS = torch.tensor([
    [[0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [0.0, 1.0]],
    [[3.0, 4.0], [0.0, 0.0], [2.0, 0.0], [0.0, 3.0]],
    [[0.0, 0.0], [0.0, 0.0], [5.0, 0.0], [0.0, 0.0]],
])
AREAS = torch.tensor([[1.0, 0.5, 0.0, 0.5],
                      [1.0, 0.0, 0.25, 0.75],
                      [1.0, 0.0, 1.0, 0.0]])


@pytest.fixture
def explorer():
    images = np.zeros((3, 8, 8, 3), dtype=np.uint8)
    return CPDMExplorer(FEATS, AREAS, images, masks=torch.rand(3, 3, 4, 4),
                        captions=["fs", "rs", "r"], scale=1)


def test_initial_pair_matches_eq_4_and_5(explorer):
    c = explorer.current
    assert (c["a"], c["b"]) == (0, 1)
    # products: global 1, front 0, rear 0, side 0.375 → weights 1/1.375, 0, 0, 0.375/1.375
    assert c["weights"]["global"] == pytest.approx(1 / 1.375)
    assert c["weights"]["side"] == pytest.approx(0.375 / 1.375)
    assert sum(c["weights"].values()) == pytest.approx(1.0)
    assert c["part_distances"]["global"] == pytest.approx(5.0)
    assert c["part_distances"]["side"] == pytest.approx(2.0)
    assert c["cpdm"] == pytest.approx((5.0 + 0.375 * 2.0) / 1.375)
    concat = (FEATS[0] - FEATS[1]).flatten().norm().item()
    assert c["euclidean"] == pytest.approx(concat)
    assert "CPDM" in explorer.table.value and explorer.pictures.value[:4] == b"\x89PNG"


def test_disjoint_views_fall_back_to_the_global_feature(explorer):
    explorer.second.value = 2          # front-side against rear only: no part in common
    c = explorer.current
    assert c["weights"] == pytest.approx({"global": 1.0, "front": 0.0, "rear": 0.0, "side": 0.0})
    assert c["cpdm"] == pytest.approx(c["part_distances"]["global"]) == pytest.approx(0.0)
    explorer.first.value = 1
    assert explorer.current["areas_a"]["rear"] == pytest.approx(0.25)


def test_render_static(explorer):
    fig = explorer.render_static(0, 2)
    assert len(fig.axes) == 4 and "CPDM 0.000" in fig._suptitle.get_text()


def test_bad_inputs_are_named():
    images = np.zeros((3, 8, 8, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="N×4×d"):
        CPDMExplorer(FEATS[:, :3], AREAS, images)
    with pytest.raises(ValueError, match="areas"):
        CPDMExplorer(FEATS, AREAS[:, :3], images)
    with pytest.raises(IndexError, match="image b"):
        CPDMExplorer(FEATS, AREAS, images).compare(0, 7)


def test_the_pair_keeps_its_aspect_beside_the_table():
    images = np.zeros((3, 10, 6, 3), dtype=np.uint8)  # taller than wide
    explorer = CPDMExplorer(FEATS, AREAS, images, scale=2)
    png = Image.open(io.BytesIO(explorer.pictures.value))
    width, height = png.size
    assert (width, height) == (2 * (2 * 6 + PAIR_GAP), 2 * 10)
    assert (explorer.pictures.layout.width, explorer.pictures.layout.height) == \
        (f"{width}px", f"{height}px")
    row = explorer.widget.children[1]
    assert row.children == (explorer.pictures, explorer.table)
    assert row.layout.align_items == "flex-start"  # not stretched to the table's height


def test_the_table_names_each_column(explorer):
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", explorer.table.value)
    assert headers == ["", "area ratio a", "area ratio b", "weight w (Eq. 4)", "‖f_a − f_b‖₂"]
    assert explorer._repr_mimebundle_()["text/plain"].startswith("CPDM on a pair: a = fs, b = rs")
