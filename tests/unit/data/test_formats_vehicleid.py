import os
import random
import shutil

import pytest

from conftest import REAL_ANNOTATIONS, place_images
from vreid_lite.data.formats import load_dataset
from vreid_lite.data.formats.vehicleid import load_vehicleid
from vreid_lite.data.records import DatasetError

REAL = str(REAL_ANNOTATIONS / "vehicleid")
TEST_800 = os.path.join(REAL, "train_test_split", "test_list_800.txt")



def _pairs(path):
    with open(path) as f:
        return [line.split() for line in f if line.strip()]


def _attributes(name):
    return {int(v): int(a) for v, a in _pairs(os.path.join(REAL, "attribute", name))}



@pytest.fixture(scope="module")
def train_pairs():
    """Images of the first 6 vehicles that have colour and model attributes, from img2vid.txt."""
    colors = _attributes("color_attr.txt")
    chosen = sorted(colors)[:6]
    pairs = [(i, v) for i, v in _pairs(os.path.join(REAL, "attribute", "img2vid.txt")) if int(v) in chosen]
    assert len({v for _, v in pairs}) == 6
    return pairs


def _build(root, jpeg, test_lines, train_pairs=None):
    os.makedirs(root / "train_test_split")
    os.symlink(os.path.join(REAL, "attribute"), root / "attribute")
    (root / "train_test_split" / "test_list_800.txt").write_text("".join(test_lines))
    images = [line.split()[0] + ".jpg" for line in test_lines]
    if train_pairs is not None:
        # CRLF, trailing tab, no final newline
        (root / "train_test_split" / "train_list.txt").write_text(
            "\r\n".join(f"{i} {v}\t" for i, v in train_pairs), newline="")
        images += [i + ".jpg" for i, _ in train_pairs]
    place_images(jpeg, str(root / "image"), images)
    return str(root)


@pytest.fixture(scope="module")
def real_tree(tmp_path_factory, jpeg, train_pairs):
    with open(TEST_800) as f:
        lines = f.readlines()
    return _build(tmp_path_factory.mktemp("vehicleid"), jpeg, lines, train_pairs)


@pytest.fixture(scope="module")
def test_only_tree(tmp_path_factory, jpeg):
    with open(TEST_800) as f:
        lines = f.readlines()
    random.Random(1).shuffle(lines)  # another file order, same content
    return _build(tmp_path_factory.mktemp("vehicleid_shuffled"), jpeg, lines)


def test_test_800_has_800_gallery_and_5693_query_images(test_only_tree):
    data = load_dataset("vehicleid", test_only_tree, require_train=False)
    assert len(data.query) + len(data.gallery) == 6493
    assert len(data.gallery) == 800 and len({r.pid for r in data.gallery}) == 800
    assert len(data.query) == 5693
    assert {r.pid for r in data.query} <= {r.pid for r in data.gallery}
    assert all(r.camid == -1 for r in data.query + data.gallery)
    assert data.train == [] and data.meta["protocol"] == "vehicleid"


def test_repeat_changes_gallery_and_same_repeat_gives_same_gallery(test_only_tree):
    def gallery(repeat):
        return [r.name for r in load_vehicleid(test_only_tree, repeat=repeat, require_train=False).gallery]

    first = gallery(0)
    assert gallery(0) == first
    assert gallery(1) != first
    assert len(set(gallery(1)) ^ set(first)) > 100


def test_gallery_does_not_depend_on_file_order(test_only_tree, real_tree):
    shuffled = load_vehicleid(test_only_tree, repeat=3, require_train=False)
    original = load_vehicleid(real_tree, repeat=3)
    assert [r.name for r in shuffled.gallery] == [r.name for r in original.gallery]


def test_test_800_vehicles_have_no_attributes(test_only_tree):
    data = load_vehicleid(test_only_tree, require_train=False)
    assert all(r.color is None and r.vtype is None for r in data.query + data.gallery)


def test_train_vehicles_get_attributes_keyed_by_vehicle(real_tree, train_pairs):
    data = load_vehicleid(real_tree)
    colors, models = _attributes("color_attr.txt"), _attributes("model_attr.txt")
    assert len(data.train) == len(train_pairs)
    assert data.meta["num_train_ids"] == 6
    for record in data.train:
        assert record.color == colors[record.pid] and record.vtype == models[record.pid]
    assert data.train[0].path.endswith(os.path.join("image", train_pairs[0][0] + ".jpg"))


def test_generic_attribute_names_sized_to_max_id(real_tree):
    meta = load_vehicleid(real_tree).meta
    assert meta["color_names"] == [f"color {i}" for i in range(7)]
    assert len(meta["type_names"]) == 250 and meta["type_names"][249] == "model 249"


def test_missing_train_list_is_an_error_by_default(test_only_tree):
    with pytest.raises(DatasetError, match=r"train_list\.txt: file missing"):
        load_vehicleid(test_only_tree)


def test_missing_test_list_names_file(test_only_tree):
    with pytest.raises(DatasetError, match=r"test_list_1600\.txt: file missing"):
        load_vehicleid(test_only_tree, test_size=1600, require_train=False)


@pytest.fixture
def small(tmp_path, jpeg):
    return _build(tmp_path / "vid", jpeg, ["0000001 5\n", "0000002 5\n", "0000003 9\n"])


def test_vehicle_id_abc_names_file_and_line(small):
    path = os.path.join(small, "train_test_split", "test_list_800.txt")
    with open(path, "w") as f:
        f.write("0000001 5\n0000002 abc\n")
    with pytest.raises(DatasetError, match=r"test_list_800\.txt:2: 'abc' is not an integer vehicle id"):
        load_vehicleid(small, require_train=False)


def test_listed_image_missing_names_line(small):
    os.unlink(os.path.join(small, "image", "0000003.jpg"))
    with pytest.raises(DatasetError, match=r"test_list_800\.txt:3: lists 0000003"):
        load_vehicleid(small, require_train=False)


def test_missing_image_folder(small):
    shutil.rmtree(os.path.join(small, "image"))
    with pytest.raises(DatasetError, match=r"image: folder missing"):
        load_vehicleid(small, require_train=False)


def test_missing_attribute_files_give_no_attributes(small):
    os.unlink(os.path.join(small, "attribute"))
    data = load_vehicleid(small, require_train=False)
    assert data.meta["color_names"] == [] and all(r.color is None for r in data.gallery)
