import dataclasses

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from vreid_lite.data.formats import load_dataset  # noqa: E402
from vreid_lite.data.records import DatasetError  # noqa: E402
from vreid_lite.data.synthetic import render_dataset  # noqa: E402
from vreid_lite.data.marks import load_marks  # noqa: E402
from vreid_lite.viz.dataset_browser import DatasetBrowser  # noqa: E402

TINY = {
    "name": "tiny_browser", "seed": 3, "train_ids": 3, "test_ids": 2, "images_per_id": [3, 4],
    "cameras": 3, "cameras_per_id": [2, 3], "image_size": [40, 56], "marks_per_id": [2, 3],
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = render_dataset(TINY, tmp_path_factory.mktemp("synth") / "tiny", workers=1,
                          progress=False)
    return load_dataset("veri776", str(root))


@pytest.fixture()
def browser(dataset):
    return DatasetBrowser(dataset, split="train", thumb_size=(48, 48))


def _ids(dataset, split):
    return sorted({r.pid for r in dataset.split(split)})


def test_identity_options_are_the_split_ids_with_type_and_colour(browser, dataset):
    assert [v for _, v in browser.identity.options] == _ids(dataset, "train")
    first = next(r for r in dataset.train if r.pid == browser.identity.options[0][1])
    label = browser.identity.options[0][0]
    assert dataset.meta["type_names"][first.vtype] in label
    assert dataset.meta["color_names"][first.color] in label


def test_setting_identity_shows_that_ids_records(browser, dataset):
    for pid in _ids(dataset, "train")[::-1]:
        browser.identity.value = pid
        expected = {r.path for r in dataset.train if r.pid == pid}
        assert {r.path for r in browser.current_records} == expected
        assert len(browser.grid.children) == len(expected)
        keys = [(r.camid, r.name) for r in browser.current_records]
        assert [k[0] for k in keys] == sorted(k[0] for k in keys)


def test_split_change_lists_that_splits_ids(browser, dataset):
    browser.split.value = "query"
    assert [v for _, v in browser.identity.options] == _ids(dataset, "query")
    assert all(r.pid == browser.identity.value for r in browser.current_records)
    assert {r.path for r in browser.current_records} <= {r.path for r in dataset.query}
    # the same id is kept when it exists in the new split (query ids are all in the gallery)
    pid = browser.identity.value
    browser.split.value = "gallery"
    assert browser.identity.value == pid
    assert {r.path for r in browser.current_records} == {
        r.path for r in dataset.gallery if r.pid == pid}


def test_mask_toggle_and_alpha_change_the_tiles(browser):
    with_masks = [t.copy() for t in browser.tiles]
    browser.show_masks.value = False
    without = [t.copy() for t in browser.tiles]
    assert any(not np.array_equal(a, b) for a, b in zip(with_masks, without))
    browser.show_masks.value = True
    browser.alpha.value = 0.9
    assert any(not np.array_equal(a, b) for a, b in zip(with_masks, browser.tiles))


def test_mark_toggle_draws_the_mark_boxes(browser, dataset):
    marks = load_marks(dataset.meta["marks_path"])
    pid = next(r.pid for r in dataset.train if marks.get(r.name))
    browser.show_masks.value = False
    browser.identity.value = pid
    with_boxes = [t.copy() for t in browser.tiles]
    browser.show_marks.value = False
    changed = [not np.array_equal(a, b) for a, b in zip(with_boxes, browser.tiles)]
    assert changed == [bool(marks.get(r.name)) for r in browser.current_records]


def test_static_figure_has_one_tile_per_image(browser, dataset):
    pid = _ids(dataset, "gallery")[0]
    n = sum(r.pid == pid for r in dataset.gallery)
    fig = browser.render_static(pid, "gallery")
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == n
    assert str(pid) in fig._suptitle.get_text()
    assert len([ax for ax in browser.figure.axes if ax.images]) == len(browser.current_records)


def test_unknown_identity_or_split_is_refused(browser):
    with pytest.raises(ValueError, match="identity 9999 has no images in the train split"):
        browser.render_static(9999, "train")
    with pytest.raises(ValueError, match="split"):
        browser.render_static(browser.identity.value, "test")


def test_show_returns_the_widget_box(browser):
    box = browser.show()
    assert browser.grid in box.children and browser.identity in box.children[0].children


def test_load_marks_names_the_bad_item(tmp_path):
    path = tmp_path / "marks.json"
    path.write_text('{"a.jpg": [{"kind": "x", "box": [1, 2, 3]}]}')
    with pytest.raises(DatasetError, match=r"marks.json: item 'a.jpg' mark 0"):
        load_marks(path)
    path.write_text('{"a.jpg": [}')
    with pytest.raises(DatasetError, match="line 1"):
        load_marks(path)


def test_max_tiles_caps_the_drawing_and_says_so(dataset):
    browser = DatasetBrowser(dataset, split="train", thumb_size=(32, 32), max_tiles=2)
    assert len(browser.current_records) > 2
    assert len(browser.tiles) == len(browser.grid.children) == 2
    assert "showing the first 2" in browser.caption.value


def test_unlabelled_split_shows_no_identity(dataset):
    unlabelled = dataclasses.replace(
        dataset, query=[dataclasses.replace(r, pid=-1) for r in dataset.query])
    browser = DatasetBrowser(unlabelled, split="train", thumb_size=(32, 32))
    browser.split.value = "query"
    assert browser.identity.value is None and browser.current_records == []
    assert browser.figure is None and "no labelled identities" in browser.caption.value
    browser.split.value = "gallery"
    assert browser.identity.value == _ids(dataset, "gallery")[0]
    assert browser.current_records
