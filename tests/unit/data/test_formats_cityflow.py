import os
import shutil

import pytest

from conftest import REAL_ANNOTATIONS, place_images
from vreid_lite.data.formats import load_dataset
from vreid_lite.data.formats.cityflow import load_cityflow
from vreid_lite.data.records import DatasetError

REAL = str(REAL_ANNOTATIONS / "cityflow_reid_aic19")



def _names(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]



@pytest.fixture(scope="module")
def real_tree(tmp_path_factory, jpeg):
    """The real annotation files with a placeholder image behind every listed name."""
    root = tmp_path_factory.mktemp("cityflow")
    for file in os.listdir(REAL):
        os.symlink(os.path.join(REAL, file), root / file)
    for split in ("train", "query", "test"):
        place_images(jpeg, str(root / f"image_{split}"), _names(os.path.join(REAL, f"name_{split}.txt")))
    return str(root)


@pytest.fixture(scope="module")
def real(real_tree):
    return load_dataset("cityflow", real_tree)


def test_train_has_36935_images_of_333_ids_on_36_cameras(real):
    assert real.summary()["train"] == {"ids": 333, "images": 36935, "cameras": 36}
    assert real.meta["num_train_ids"] == 333


def test_ids_are_the_datasets_own_non_contiguous_numbers(real):
    pids = {r.pid for r in real.train}
    assert min(pids) == 1 and max(pids) == 478
    assert {r.camid for r in real.train} <= set(range(1, 41))


def test_label_of_first_xml_item(real):
    by_name = {r.name: r for r in real.train}
    assert (by_name["021284.jpg"].pid, by_name["021284.jpg"].camid) == (347, 26)
    assert by_name["021284.jpg"].color is None and by_name["021284.jpg"].vtype is None


def test_train_records_follow_name_list_order(real):
    assert [r.name for r in real.train[:3]] == ["000001.jpg", "000002.jpg", "000003.jpg"]


def test_query_and_gallery_are_unlabelled(real):
    assert len(real.query) == 1052 and len(real.gallery) == 18290
    assert all(r.pid == -1 and r.camid == -1 for r in real.query + real.gallery)
    assert real.meta["protocol"] == "none"
    assert real.meta["color_names"] == [] and real.meta["type_names"] == []


def test_test_tracks_read_into_meta(real):
    tracks = real.meta["test_tracks"]
    assert len(tracks) == 798
    assert sum(len(t) for t in tracks) == 18290
    assert tracks[0][:2] == ["000029.jpg", "018199.jpg"]


@pytest.fixture
def small(tmp_path, jpeg):
    """A three-image CityFlow tree; tests break one thing at a time."""
    root = tmp_path / "cf"
    root.mkdir()
    (root / "train_label.xml").write_bytes(
        b'<?xml version="1.0" encoding="gb2312" ?>\n<TrainingImages Version="1.0">\n'
        b'    <Items number="2">\n'
        b'        <Item imageName="000002.jpg" vehicleID="0007" cameraID="c040" />\n'
        b'        <Item imageName="000001.jpg" vehicleID="0005" cameraID="c001" />\n'
        b'    </Items>\n</TrainingImages>\n')
    (root / "name_train.txt").write_text("000001.jpg\n000002.jpg\n")
    (root / "name_query.txt").write_text("000001.jpg")
    (root / "name_test.txt").write_text("000001.jpg \r\n000002.jpg \r\n")
    (root / "test_track.txt").write_text("000001.jpg 000002.jpg \n\n")
    for split, names in (("train", 2), ("query", 1), ("test", 2)):
        place_images(jpeg, str(root / f"image_{split}"), [f"00000{i}.jpg" for i in range(1, names + 1)])
    return root


def test_small_tree_reads(small):
    data = load_cityflow(str(small))
    assert [(r.pid, r.camid) for r in data.train] == [(5, 1), (7, 40)]
    assert data.meta["test_tracks"] == [["000001.jpg", "000002.jpg"]]


def test_missing_image_folder(small):
    shutil.rmtree(small / "image_query")
    with pytest.raises(DatasetError, match=r"image_query: folder missing"):
        load_cityflow(str(small))


def test_missing_name_list(small):
    (small / "name_test.txt").unlink()
    with pytest.raises(DatasetError, match=r"name_test\.txt: file missing"):
        load_cityflow(str(small))


def test_malformed_xml_names_line(small):
    text = (small / "train_label.xml").read_text().replace("</Items>", "</Item>")
    (small / "train_label.xml").write_text(text)
    with pytest.raises(DatasetError, match=r"train_label\.xml:6: malformed XML"):
        load_cityflow(str(small))


def test_listed_image_missing(small):
    (small / "image_test" / "000002.jpg").unlink()
    with pytest.raises(DatasetError, match=r"name_test\.txt:2: lists '000002\.jpg'"):
        load_cityflow(str(small))


def test_train_image_without_label(small):
    (small / "name_train.txt").write_text("000001.jpg\n000002.jpg\n000003.jpg\n")
    place_images(str(small / "image_train" / "000001.jpg"), str(small / "image_train"), ["000003.jpg"])
    with pytest.raises(DatasetError, match=r"name_train\.txt:3: 000003\.jpg has no Item"):
        load_cityflow(str(small))


def test_camera_that_does_not_parse(small):
    text = (small / "train_label.xml").read_text().replace('"c040"', '"cam40"')
    (small / "train_label.xml").write_text(text)
    with pytest.raises(DatasetError, match=r"train_label\.xml:4: camera 'cam40'"):
        load_cityflow(str(small))


def test_track_naming_an_unknown_image(small):
    (small / "test_track.txt").write_text("000001.jpg\n000009.jpg \n")
    with pytest.raises(DatasetError, match=r"test_track\.txt:2: 000009\.jpg"):
        load_cityflow(str(small))
