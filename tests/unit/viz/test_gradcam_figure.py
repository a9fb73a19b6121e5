"""The Grad-CAM beside attention figure: one row per image, titles with the scores."""
import pytest
import torch

from vreid_lite.data.formats import load_dataset
from vreid_lite.data.marks import load_marks
from vreid_lite.data.synthetic import render_dataset
from vreid_lite.engine.activation import masked_images
from vreid_lite.viz.gradcam_figure import cam_attention_figure

TINY = {"name": "tiny_gradcam_figure", "seed": 4, "train_ids": 2, "test_ids": 3,
        "images_per_id": [3, 4], "cameras": 3, "cameras_per_id": [2, 3], "image_size": [32, 40],
        "scenes": 4}


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = render_dataset(TINY, tmp_path_factory.mktemp("synth") / "tiny", workers=1,
                          progress=False)
    data = load_dataset("veri776", str(root))
    return masked_images(data.query, (32, 32)), load_marks(data.meta["marks_path"])


def test_rows_are_images_and_titles_state_the_scores(images):
    decoded, marks = images
    n = len(decoded)
    maps = {"grad-cam/logit": torch.rand(n, 32, 32), "sab": torch.rand(n, 8, 8)}
    fig = cam_attention_figure(decoded, maps, marks, indices=[0, 1])
    assert len(fig.axes) == 2 * 3
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[1].startswith("grad-cam/logit\nvehicle ") and titles[2].startswith("sab\n")
    for i, record in enumerate(decoded.records[:2]):
        expected = "max on a mark" if marks.get(record.name) else "no mark visible"
        assert expected in titles[3 * i + 1]


def test_bad_input_raises(images):
    decoded, marks = images
    maps = {"sab": torch.rand(len(decoded), 8, 8)}
    with pytest.raises(KeyError, match="grad-cam"):
        cam_attention_figure(decoded, maps, marks, columns=["grad-cam/logit"])
    with pytest.raises(IndexError, match="indices"):
        cam_attention_figure(decoded, maps, marks, indices=[len(decoded)])
