"""The synthetic renderer: layout, annotations, masks, marks, determinism, recipes, folders."""
from __future__ import annotations

import hashlib
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from vreid_lite.data.records import VIEWS, DatasetError
from vreid_lite.data.synthetic import (
    MARK_KINDS, MARKER, ensure_synthetic, load_recipe, render_dataset, view_from_yaw,
)
from vreid_lite.data.synthetic.body import build_body
from vreid_lite.data.synthetic.draw import Model, paint, screen_axes, view_vector
from vreid_lite.data.synthetic.marks import Mark, attach_marks
from vreid_lite.data.synthetic.mask_png import encode_mask_png

TINY = {"name": "tiny", "seed": 3, "train_ids": 6, "test_ids": 4, "images_per_id": [4, 4],
        "cameras_per_id": [2, 3], "image_size": [48, 64]}
NAME = re.compile(r"^(\d{4})_c(\d{3})_(\d{8})_0\.jpg$")
SPLIT_DIRS = {"train": "image_train", "query": "image_query", "test": "image_test"}


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def names(root: Path, split: str) -> list[str]:
    return (root / f"name_{split}.txt").read_text().splitlines()


def xml_items(path: Path, root_tag: str) -> list[dict[str, str]]:
    text = path.read_bytes().decode("ascii")
    header, body = text.split("\n", 1)
    assert header == '<?xml version="1.0" encoding="gb2312" ?>'
    tree = ET.fromstring(body)
    assert tree.tag == root_tag and tree.get("Version") == "1.0"
    items = tree.find("Items")
    out = [dict(i.attrib) for i in items.findall("Item")]
    assert int(items.get("number")) == len(out)
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return render_dataset(TINY, tmp_path_factory.mktemp("synth") / "tiny", workers=1, progress=False)


def test_layout_files_and_counts(tiny):
    for d in ("image_train", "image_query", "image_test", "masks/train", "masks/query", "masks/test"):
        assert (tiny / d).is_dir()
    train, query, test = names(tiny, "train"), names(tiny, "query"), names(tiny, "test")
    assert len(train) == 6 * 4 and len(test) == 4 * 4
    for split, listed in (("train", train), ("query", query), ("test", test)):
        assert listed == sorted(listed)
        assert sorted(p.name for p in (tiny / SPLIT_DIRS[split]).iterdir()) == listed
        assert sorted(p.name for p in (tiny / "masks" / split).iterdir()) == [n[:-4] + ".png" for n in listed]
        assert all(NAME.match(n) for n in listed)
    stamp = json.loads((tiny / MARKER).read_text())
    assert stamp["counts"] == {"train": 24, "query": len(query), "test": 16}
    assert stamp["seed"] == 3 and stamp["recipe"]["name"] == "tiny"
    assert (tiny / "list_type.txt").read_bytes() == (
        b"1 sedan\n2 suv\n3 van\n4 hatchback\n5 mpv\n6 pickup\n7 bus\n8 truck\n9 estate")
    assert (tiny / "list_color.txt").read_bytes() == (
        b"1 yellow\n2 orange\n3 green\n4 gray\n5 red\n6 blue\n7 white\n8 golden\n9 brown\n10 black")


def test_label_xml_matches_name_lists(tiny):
    for xml, tag, split in (("train_label.xml", "TrainingImages", "train"), ("test_label.xml", "TestImages", "test")):
        items = xml_items(tiny / xml, tag)
        assert [i["imageName"] for i in items] == names(tiny, split)
        for i in items:
            pid, cam, _ = NAME.match(i["imageName"]).groups()
            assert i["vehicleID"] == pid and i["cameraID"] == f"c{cam}"
            assert 1 <= int(i["colorID"]) <= 10 and 1 <= int(i["typeID"]) <= 9
    lines = (tiny / "train_label.xml").read_text().split("\n")
    assert lines[2].startswith('  <Items number="') and lines[3].startswith('        <Item imageName="')
    assert lines[-3:] == ["    </Items>", "</TrainingImages>", ""]


def test_identity_splits_and_queries(tiny):
    pid = lambda n: int(n[:4])  # noqa: E731
    train = {pid(n) for n in names(tiny, "train")}
    test = {pid(n) for n in names(tiny, "test")}
    assert len(train) == 6 and len(test) == 4 and not train & test
    assert train | test == set(range(1, 11))
    query, gallery = names(tiny, "query"), names(tiny, "test")
    assert set(query) <= set(gallery) and {pid(n) for n in query} == test
    cams = {(pid(n), n[5:9]) for n in gallery}
    assert sorted((pid(n), n[5:9]) for n in query) == sorted(cams)  # one query per (id, camera)
    assert all(len({c for p, c in cams if p == t}) >= 2 for t in test)
    for n in query:
        assert (tiny / "image_query" / n).read_bytes() == (tiny / "image_test" / n).read_bytes()


def test_index_files_follow_the_junk_rule(tiny):
    query, gallery = names(tiny, "query"), names(tiny, "test")
    gt = (tiny / "gt_index.txt").read_bytes().split(b"\r\n")[:-1]
    jk = (tiny / "jk_index.txt").read_bytes().split(b"\r\n")[:-1]
    assert len(gt) == len(jk) == len(query)
    for q, g_line, j_line in zip(query, gt, jk):
        good = [gallery[int(i) - 1] for i in g_line.split()]
        junk = [gallery[int(i) - 1] for i in j_line.split()]
        assert good and all(n[:4] == q[:4] and n[5:9] != q[5:9] for n in good)
        assert q in junk and all(n[:4] == q[:4] and n[5:9] == q[5:9] for n in junk)
        assert len(good) + len(junk) == sum(n[:4] == q[:4] for n in gallery)


def test_masks_views_and_marks(tiny):
    views = dict(line.split(",") for line in (tiny / "viewpoints.csv").read_text().splitlines()[1:])
    marks = json.loads((tiny / "marks.json").read_text())
    identities = json.loads((tiny / "identities.json").read_text())
    every = names(tiny, "train") + names(tiny, "test")
    assert sorted(views) == sorted(every) and sorted(marks) == sorted(every)
    assert set(views.values()) <= set(VIEWS)
    for split in ("train", "query", "test"):
        for n in names(tiny, split):
            image = cv2.imread(str(tiny / SPLIT_DIRS[split] / n))
            mask = cv2.imread(str(tiny / "masks" / split / (n[:-4] + ".png")), cv2.IMREAD_UNCHANGED)
            assert mask.dtype == np.uint8 and mask.shape == image.shape[:2]
            assert set(np.unique(mask).tolist()) <= {0, 1, 2, 3}
            assert 0.15 < (mask > 0).mean() < 0.95
            h, w = mask.shape
            own = {m["kind"] for m in identities[n[:4]]["marks"]}
            for m in marks[n]:
                x0, y0, x1, y1 = m["box"]
                assert m["kind"] in own and m["kind"] in MARK_KINDS
                assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
            kinds = {m["kind"] for m in marks[n]}
            if views[n] == "front":
                assert "rear_decal" not in kinds
            if views[n] == "rear":
                assert "windshield_sticker" not in kinds


def draw_marks(body, yaw: float) -> tuple[dict, np.ndarray]:
    model = Model(body)
    proj = model.points @ screen_axes(yaw, 15.0)
    lo = proj[:model.n_body_points].min(axis=0)
    scale = 100.0 / (proj[:model.n_body_points].max(axis=0) - lo).max()
    image, mask = np.zeros((120, 120, 3), np.uint8), np.zeros((120, 120), np.uint8)
    boxes = paint(model, image, mask, (proj - lo) * scale + 10, scale, view_vector(yaw, 15.0),
                  view_vector(yaw + 30, 50), (0, 0, 0))
    return boxes, mask


def test_mark_visibility_follows_the_faces():
    marks = tuple(Mark(kind, color, 0.5, 0.5, 0.5, 0) for kind, color in (
        ("rear_decal", (0, 215, 255)), ("windshield_sticker", (250, 250, 250)),
        ("side_stripe", (50, 200, 50)), ("roof_item", (25, 25, 25))))
    body = attach_marks(build_body("sedan", (135, 130, 128)), marks)
    front, front_mask = draw_marks(body, 0.0)
    rear, rear_mask = draw_marks(body, 180.0)
    side, side_mask = draw_marks(body, 90.0)
    assert set(front) == {"windshield_sticker", "roof_item"}
    assert set(rear) == {"rear_decal", "roof_item"}
    assert set(side) == {"side_stripe", "roof_item"}
    assert set(np.unique(front_mask)) == {0, 1} and set(np.unique(rear_mask)) == {0, 2}
    assert set(np.unique(side_mask)) >= {0, 3}


def test_view_bins():
    assert [view_from_yaw(a) for a in (0, 20, -40, 90, -100, 130, 170, 180, -179, 400)] == [
        "front", "front", "front_side", "side", "side", "rear_side", "rear", "rear", "rear", "front_side"]


def test_same_seed_same_bytes_whatever_the_workers(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr("vreid_lite.data.synthetic.render.IMAGES_PER_WORKER", 1)  # start 2 processes
    again = render_dataset(TINY, tmp_path / "again", workers=2, progress=False)
    assert tree_digest(again) == tree_digest(tiny)
    other = render_dataset(TINY, tmp_path / "other", seed=4, workers=1, progress=False)
    a, b = tree_digest(tiny), tree_digest(other)
    assert a["image_train/" + names(tiny, "train")[0]] not in b.values()
    assert a["marks.json"] != b["marks.json"]


def test_ensure_is_idempotent(tmp_path):
    first = ensure_synthetic(TINY, root=tmp_path / "set")
    stamp = (first / MARKER).stat().st_mtime_ns
    assert ensure_synthetic(TINY, root=tmp_path / "set") == first
    assert (first / MARKER).stat().st_mtime_ns == stamp
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial folder left


def test_ensure_default_folder_names_the_seed(tmp_path, monkeypatch):
    monkeypatch.setenv("VREID_DATA_DIR", str(tmp_path))
    assert ensure_synthetic(TINY) == tmp_path / "tiny"
    assert ensure_synthetic(TINY, seed=7) == tmp_path / "tiny-seed7"


def test_ensure_replaces_an_outdated_render_of_the_same_recipe(tmp_path):
    first = ensure_synthetic(TINY, root=tmp_path / "set")
    changed = {**TINY, "images_per_id": [3, 3]}
    with pytest.raises(DatasetError, match="different recipe settings"):
        render_dataset(changed, first, progress=False)
    with pytest.warns(UserWarning, match="outdated render"):
        again = ensure_synthetic(changed, root=tmp_path / "set")
    assert again == first and len(names(again, "train")) == 6 * 3
    assert json.loads((again / MARKER).read_text())["recipe"]["images_per_id"] == [3, 3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set"]


def test_refuses_to_overwrite_a_foreign_folder(tmp_path, tiny):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(DatasetError, match="refusing to overwrite"):
        render_dataset(TINY, foreign, progress=False)
    with pytest.raises(DatasetError, match="refusing to overwrite"):
        ensure_synthetic(TINY, root=foreign)
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    with pytest.raises(DatasetError, match="seed 3"):  # a render, but of another seed
        render_dataset(TINY, tiny, seed=5, progress=False)


@pytest.mark.parametrize("change, key", [
    ({"train_ids": None}, "train_ids"),
    ({"test_ids": -2}, "test_ids"),
    ({"images_per_id": [5, 3]}, "images_per_id"),
    ({"cameras_per_id": [1, 3]}, "cameras_per_id"),
    ({"color_weights": {"purple": 1}}, "color_weights"),
    ({"colour": "red"}, "colour"),
])
def test_bad_recipe_names_the_key(change, key):
    recipe = {**TINY, **change}
    recipe = {k: v for k, v in recipe.items() if v is not None}
    with pytest.raises(DatasetError, match=f"'{key}'"):
        load_recipe(recipe)


def test_bad_recipe_file_is_named(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("train_ids: 5\ntest_ids: 0\nimages_per_id: 4\ncameras_per_id: 2\nimage_size: 64\n")
    with pytest.raises(DatasetError, match=r"broken\.yaml.*'test_ids'"):
        load_recipe(path)


def test_shipped_recipes_load():
    quick, _ = load_recipe("synth_quick")
    standard, _ = load_recipe("synth_standard")
    assert (quick["train_ids"], quick["test_ids"]) == (60, 30)
    assert (standard["train_ids"], standard["test_ids"]) == (576, 200)


def test_mask_png_round_trips():
    mask = np.random.default_rng(0).integers(0, 4, size=(17, 23), dtype=np.uint8)
    data = encode_mask_png(mask)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded.dtype == np.uint8 and np.array_equal(decoded, mask)
    with Image.open(io.BytesIO(data)) as im:
        assert im.mode == "L" and np.array_equal(np.asarray(im), mask)


def test_the_veri776_reader_loads_a_render(tiny):
    formats = pytest.importorskip("vreid_lite.data.formats")
    data = formats.load_dataset("veri776", str(tiny))
    assert (len(data.train), len(data.gallery)) == (24, 16)
    assert all(r.view in VIEWS and r.mask_path for r in data.train + data.query + data.gallery)
    assert data.meta["marks_path"].endswith("marks.json")


def test_shared_scenes_are_drawn_per_image_and_cross_cameras():
    from vreid_lite.data.synthetic.cameras import SCENE_INDEX_BASE, make_cameras
    from vreid_lite.data.synthetic.identities import plan
    from vreid_lite.data.synthetic.image import Renderer
    from vreid_lite.data.synthetic.recipe import validate

    recipe = validate({"train_ids": 6, "test_ids": 3, "images_per_id": [6, 6], "cameras": 4,
                       "cameras_per_id": [2, 3], "image_size": [32, 40], "scenes": 5}, "test")
    cameras = make_cameras(0, 4, (32, 40), (10, 25))
    identities, jobs = plan(recipe, 0, cameras)
    shared = Renderer(recipe, 0, cameras, identities)
    scenes = {}
    for job in jobs:
        scene = shared.scene_of(job)
        assert SCENE_INDEX_BASE <= scene < SCENE_INDEX_BASE + 5
        assert scene == shared.scene_of(job)          # a function of the image alone
        scenes.setdefault(scene, set()).add(job.camera)
    assert len(scenes) == 5                             # every scene is used …
    assert max(len(c) for c in scenes.values()) > 1     # … and seen by several cameras
    own = Renderer({**recipe, "scenes": 0}, 0, cameras, identities)
    assert all(own.scene_of(job) == job.camera for job in jobs)
