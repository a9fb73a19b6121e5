import os
import shutil

import pytest

from vreid_lite.data.formats import load_dataset
from vreid_lite.data.formats.veriwild import load_veriwild
from vreid_lite.data.records import DatasetError

INFO = [  # id/image;Camera ID;Time;Model;Type;Color
    ("00001/000001", 5, "Audi A4", "sedan", "black"),
    ("00001/000002", 7, "Audi A4", "sedan", "black"),
    ("00002/000010", 5, "Ford Transit", "van", "white"),
    ("00003/000020", 12, "Honda Fit", "hatchback", "red"),
    ("00003/000021", 3, "Honda Fit", "hatchback", "red"),
    ("00003/000022", 12, "Honda Fit", "hatchback", "red"),
    ("00004/000030", 3, "Ford Transit", "", "white"),  # missing type
]
TRAIN = ["00001/000002", "00001/000001", "00002/000010"]
GALLERY = ["00003/000020", "00003/000022", "00004/000030"]
QUERY = ["00003/000021"]



@pytest.fixture
def tree(tmp_path, jpeg):
    root = tmp_path / "VERI-Wild"
    split = root / "train_test_split"
    split.mkdir(parents=True)
    header = "id/image;Camera ID;Time;Model;Type;Color\r\n"
    (split / "vehicle_info.txt").write_text(header + "".join(
        f"{k};{c};2018-03-{i + 1:02d} 10:00:00;{m};{t};{col}\r\n" for i, (k, c, m, t, col) in enumerate(INFO)),
        newline="")
    (split / "train_list.txt").write_text("\n".join(TRAIN))
    (split / "test_3000.txt").write_text("".join(f"{k} \n" for k in GALLERY))
    (split / "test_3000_query.txt").write_text("\n".join(QUERY) + "\n\n")
    for key, *_ in INFO:
        vid, image = key.split("/")
        os.makedirs(root / "images" / vid, exist_ok=True)
        os.link(jpeg, root / "images" / vid / f"{image}.jpg")
    return root


def test_generated_tree_reads(tree):
    data = load_dataset("veriwild", str(tree))
    assert [(r.pid, r.camid) for r in data.train] == [(1, 7), (1, 5), (2, 5)]
    assert [r.name for r in data.gallery] == ["000020.jpg", "000022.jpg", "000030.jpg"]
    assert [(r.pid, r.camid) for r in data.query] == [(3, 3)]
    assert data.meta["protocol"] == "veri" and data.meta["num_train_ids"] == 2
    assert data.train[0].path == os.path.join(str(tree), "images", "00001", "000002.jpg")


def test_attribute_names_sorted_and_indexed(tree):
    data = load_veriwild(str(tree))
    assert data.meta["color_names"] == ["black", "red", "white"]
    assert data.meta["type_names"] == ["hatchback", "sedan", "van"]
    assert data.meta["model_names"] == ["Audi A4", "Ford Transit", "Honda Fit"]
    assert (data.train[0].color, data.train[0].vtype) == (0, 1)
    assert (data.query[0].color, data.query[0].vtype) == (1, 0)
    assert (data.gallery[2].color, data.gallery[2].vtype) == (2, None)


def test_other_test_size_reads_its_own_lists(tree):
    split = tree / "train_test_split"
    (split / "test_5000.txt").write_text("00003/000021\n00003/000022\n")
    (split / "test_5000_query.txt").write_text("00003/000020\n")
    data = load_veriwild(str(tree), test_size=5000)
    assert [r.name for r in data.query] == ["000020.jpg"] and len(data.gallery) == 2


def test_missing_list_names_file(tree):
    with pytest.raises(DatasetError, match=r"test_10000_query\.txt: file missing"):
        load_veriwild(str(tree), test_size=10000)


def test_missing_images_folder(tree):
    shutil.rmtree(tree / "images")
    with pytest.raises(DatasetError, match=r"images: folder missing"):
        load_veriwild(str(tree))


def test_listed_image_missing_names_line(tree):
    (tree / "images" / "00003" / "000022.jpg").unlink()
    with pytest.raises(DatasetError, match=r"test_3000\.txt:2: lists 00003/000022"):
        load_veriwild(str(tree))


def test_image_without_info_line(tree):
    os.link(tree / "images" / "00001" / "000001.jpg", tree / "images" / "00001" / "000003.jpg")
    (tree / "train_test_split" / "train_list.txt").write_text("00001/000001\n00001/000003\n")
    with pytest.raises(DatasetError, match=r"train_list\.txt:2: 00001/000003 has no line in .*vehicle_info\.txt"):
        load_veriwild(str(tree))


def test_list_line_that_does_not_parse(tree):
    (tree / "train_test_split" / "train_list.txt").write_text("00001/000001\n00001-000002\n")
    with pytest.raises(DatasetError, match=r"train_list\.txt:2: '00001-000002'"):
        load_veriwild(str(tree))


def test_camera_that_does_not_parse_names_info_line(tree):
    info = tree / "train_test_split" / "vehicle_info.txt"
    info.write_text(info.read_text().replace("00002/000010;5;", "00002/000010;cam5;"))
    with pytest.raises(DatasetError, match=r"vehicle_info\.txt:4: 'cam5'"):
        load_veriwild(str(tree))


def test_conflicting_info_lines_name_the_line(tree):
    info = tree / "train_test_split" / "vehicle_info.txt"
    info.write_text(info.read_text() + "00001/000001;9;2018-03-01 10:00:00;Audi A4;sedan;black\n")
    with pytest.raises(DatasetError, match=r"vehicle_info\.txt:9: 00001/000001 described a second time"):
        load_veriwild(str(tree))


def test_gbk_encoded_model_names_are_read(tree):
    info = tree / "train_test_split" / "vehicle_info.txt"
    info.write_bytes(info.read_text().replace("Audi A4", "奥迪A4").encode("gbk"))
    assert "奥迪A4" in load_veriwild(str(tree)).meta["model_names"]
