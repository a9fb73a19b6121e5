import os

import pytest

from conftest import REAL_ANNOTATIONS, place_images
from vreid_lite.data.formats import load_dataset, read_veri_index_file, read_veri_orientation_views
from vreid_lite.data.formats.veri776 import load_veri776
from vreid_lite.data.records import DatasetError

REAL = str(REAL_ANNOTATIONS / "veri776")
KEYPOINTS = os.path.join(REAL, "keypoint", "keypoint_test.txt")

COLORS = "1 yellow\r\n2 orange\r\n3 green\r\n4 gray\r\n5 red\r\n6 blue\r\n7 white\r\n8 golden\r\n9 brown\r\n10 black"
TYPES = "1 sedan\n2 suv\n3 van\n4 hatchback\n5 mpv\n6 pickup\n7 bus\n8 truck\n9 estate"
TRAIN = ["0010_c003_00000500_0.jpg", "0003_c001_00001000_0.jpg", "0003_c002_00002000_1.jpg",
         "0010_c001_00000400_0.jpg"]
TEST = ["0020_c004_00000001_0.jpg", "0020_c005_00000002_0.jpg", "0021_c004_00000003_0.jpg"]
QUERY = ["0020_c004_00000001_0.jpg", "0021_c006_00009999_0.jpg"]  # the second has no XML label


def _xml(items):
    body = "".join(f'        <Item imageName="{n}" vehicleID="{v}" cameraID="{c}" colorID="{col}" '
                   f'typeID="{t}" />\n' for n, v, c, col, t in items)
    return ('<?xml version="1.0" encoding="gb2312" ?>\n<TrainingImages Version="1.0">\n'
            f'    <Items number="{len(items)}">\n{body}    </Items>\n</TrainingImages>\n')


def veri_files():
    return {
        "list_color.txt": COLORS,
        "list_type.txt": TYPES,
        "name_train.txt": "\r\n".join(TRAIN),  # CRLF, no final newline
        "name_test.txt": "\r\n".join(n + " " for n in TEST) + "\r\n",  # trailing spaces
        "name_query.txt": "\n".join(QUERY) + "\n",
        "train_label.xml": _xml([  # unsorted; typeID="0" as old releases have for 0003
            ("0010_c003_00000500_0.jpg", "0010", "c003", "10", "2"),
            ("0003_c001_00001000_0.jpg", "0003", "c001", "5", "0"),
            ("0010_c001_00000400_0.jpg", "0010", "c001", "10", "2"),
            ("0003_c002_00002000_1.jpg", "0003", "c002", "5", "0"),
        ]),
        "test_label.xml": _xml([
            ("0021_c004_00000003_0.jpg", "0021", "c004", "1", "9"),
            ("0020_c004_00000001_0.jpg", "0020", "c004", "7", "1"),
            ("0020_c005_00000002_0.jpg", "0020", "c005", "7", "1"),
        ]),
    }


def write_tree(root, files, images, jpeg):
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(text.encode("ascii") if isinstance(text, str) else text)
    for folder, names in images.items():
        place_images(jpeg, os.path.join(root, folder), names)
    return str(root)



@pytest.fixture
def make_veri(tmp_path, jpeg):
    def make(files=None, images=None, drop=()):
        all_files = veri_files()
        all_files.update(files or {})
        all_images = {"image_train": TRAIN, "image_test": TEST, "image_query": QUERY}
        all_images.update(images or {})
        for key in drop:
            all_files.pop(key, None)
            all_images.pop(key, None)
        return write_tree(tmp_path / "VeRi", all_files, all_images, jpeg)
    return make


def test_real_colour_and_type_lists_give_ten_and_nine_names(tmp_path, jpeg):
    root = write_tree(tmp_path / "v", {**veri_files(), "list_color.txt": open(f"{REAL}/list_color.txt").read(),
                                       "list_type.txt": open(f"{REAL}/list_type.txt").read()},
                      {"image_train": TRAIN, "image_test": TEST, "image_query": QUERY}, jpeg)
    meta = load_veri776(root).meta
    assert meta["color_names"] == ["yellow", "orange", "green", "gray", "red", "blue", "white",
                                   "golden", "brown", "black"]
    assert meta["type_names"] == ["sedan", "suv", "van", "hatchback", "mpv", "pickup", "bus", "truck",
                                  "estate"]


def test_generated_tree_reads_labels_in_list_order(make_veri):
    data = load_dataset("veri776", make_veri())
    assert [r.name for r in data.train] == TRAIN
    first = data.train[0]
    assert (first.pid, first.camid, first.color, first.vtype) == (10, 3, 9, 1)
    assert first.path.endswith(os.path.join("image_train", TRAIN[0]))
    assert os.path.isfile(first.path)
    assert data.meta["protocol"] == "veri" and data.meta["num_train_ids"] == 2
    assert data.summary()["gallery"] == {"ids": 2, "images": 3, "cameras": 2}


def test_type_id_zero_is_missing_not_an_error(make_veri):
    data = load_veri776(make_veri())
    old = [r for r in data.train if r.pid == 3]
    assert len(old) == 2 and all(r.vtype is None and r.color == 4 for r in old)


def test_query_labels_come_from_test_xml_else_from_the_name(make_veri):
    q = load_veri776(make_veri()).query
    assert (q[0].pid, q[0].camid, q[0].color) == (20, 4, 6)
    assert (q[1].pid, q[1].camid, q[1].color, q[1].vtype) == (21, 6, None, None)
    assert "image_query" in q[0].path


def test_query_name_that_does_not_parse_names_list_and_line(make_veri):
    root = make_veri(files={"name_query.txt": "0020_c004_00000001_0.jpg\nbadname.jpg\n"},
                     images={"image_query": ["0020_c004_00000001_0.jpg", "badname.jpg"]})
    with pytest.raises(DatasetError, match=r"name_query\.txt:2.*badname\.jpg"):
        load_veri776(root)


def test_synthetic_extras_views_masks_marks(make_veri):
    stems = {split: [os.path.splitext(n)[0] + ".png" for n in names]
             for split, names in (("train", TRAIN), ("test", TEST), ("query", QUERY))}
    views = "image_name,view\n" + "".join(f"{n},front\n" for n in TRAIN) + f"{TEST[0]},rear_side\n"
    root = make_veri(files={"viewpoints.csv": views, "marks.json": "{}"},
                     images={f"masks/{s}": names for s, names in stems.items()})
    data = load_veri776(root)
    assert all(r.view == "front" for r in data.train)
    assert data.gallery[0].view == "rear_side" and data.gallery[1].view is None
    assert data.query[0].view == "rear_side"  # same name as the gallery image
    assert data.train[0].mask_path.endswith(os.path.join("masks", "train", stems["train"][0]))
    assert data.query[1].mask_path.endswith(os.path.join("masks", "query", stems["query"][1]))
    assert data.meta["marks_path"] == os.path.join(root, "marks.json")


def test_missing_mask_in_a_mask_folder_is_an_error(make_veri):
    root = make_veri(images={"masks/train": [os.path.splitext(n)[0] + ".png" for n in TRAIN[1:]]})
    with pytest.raises(DatasetError, match=r"masks.train.0010_c003_00000500_0\.png"):
        load_veri776(root)


def test_bad_view_in_viewpoints_csv_names_line(make_veri):
    root = make_veri(files={"viewpoints.csv": f"image_name,view\n{TRAIN[0]},front\n{TRAIN[1]},top\n"})
    with pytest.raises(DatasetError, match=r"viewpoints\.csv:3.*'top'"):
        load_veri776(root)


def test_viewpoints_option_sets_views_from_orientation_file(make_veri, tmp_path):
    kp = tmp_path / "kp.txt"
    kp.write_text(f"VeRi/image_test/{TEST[0]} " + "-1 " * 40 + "6\n"
                  f"VeRi/image_test/{TEST[2]} " + "-1 " * 40 + "1\n")
    data = load_dataset("veri776", make_veri(), viewpoints=str(kp))
    assert [r.view for r in data.gallery] == ["front_side", None, "rear"]
    assert data.query[0].view == "front_side"


def test_missing_image_folder(make_veri):
    with pytest.raises(DatasetError, match=r"image_test: folder missing"):
        load_veri776(make_veri(drop=["image_test"]))


def test_missing_name_list(make_veri):
    with pytest.raises(DatasetError, match=r"name_train\.txt: file missing"):
        load_veri776(make_veri(drop=["name_train.txt"]))


def test_missing_root_names_root(tmp_path):
    with pytest.raises(DatasetError, match=r"nowhere: folder missing"):
        load_veri776(str(tmp_path / "nowhere"))


def test_malformed_xml_names_file_and_line(make_veri):
    broken = veri_files()["train_label.xml"].replace('cameraID="c001" colorID="5"', 'cameraID="c001 colorID="5"')
    with pytest.raises(DatasetError, match=r"train_label\.xml:\d+: malformed XML"):
        load_veri776(make_veri(files={"train_label.xml": broken}))


def test_listed_image_missing_names_list_line_and_image(make_veri):
    root = make_veri(images={"image_train": TRAIN[:2] + TRAIN[3:]})
    with pytest.raises(DatasetError, match=r"name_train\.txt:3.*0003_c002_00002000_1\.jpg"):
        load_veri776(root)


def test_vehicle_id_that_does_not_parse_names_xml_line(make_veri):
    bad = veri_files()["test_label.xml"].replace('vehicleID="0021"', 'vehicleID="x21"')
    with pytest.raises(DatasetError, match=r"test_label\.xml:4: 'x21'"):
        load_veri776(make_veri(files={"test_label.xml": bad}))


def test_colour_id_out_of_range_names_xml_line(make_veri):
    bad = veri_files()["test_label.xml"].replace('colorID="1"', 'colorID="11"')
    with pytest.raises(DatasetError, match=r"test_label\.xml:4: colorID='11'; expected 1\.\.10"):
        load_veri776(make_veri(files={"test_label.xml": bad}))


def test_orientation_file_has_11579_unique_images_mapped_to_views():
    views = read_veri_orientation_views(KEYPOINTS)
    assert len(views) == 11579
    assert views["0030_c008_00049745_0.jpg"] == "front_side"  # orient 3, left-front
    assert views["0027_c019_00012010_0.jpg"] == "rear_side"   # orient 4, left-rear
    assert views["0002_c003_00084325_0.jpg"] == "rear"        # orient 1
    assert set(views.values()) == {"front", "rear", "side", "front_side", "rear_side"}


def test_orientation_conflicting_duplicate_is_an_error(tmp_path):
    lines = open(KEYPOINTS).read().splitlines()
    fields = lines[0].split()
    fields[-1] = "0"
    path = tmp_path / "kp.txt"
    path.write_text("\n".join(lines[:5] + [" ".join(fields)]) + "\n")
    with pytest.raises(DatasetError, match=r"kp\.txt:6: 0030_c008_00049745_0\.jpg repeats line 1"):
        read_veri_orientation_views(str(path))


@pytest.mark.parametrize("name", ["gt_index.txt", "jk_index.txt"])
def test_index_files_read_1678_queries_zero_based(name):
    rows = read_veri_index_file(os.path.join(REAL, name), 11579)
    assert len(rows) == 1678
    assert min(min(r) for r in rows) >= 0
    assert all(rows)
    if name == "gt_index.txt":
        assert max(max(r) for r in rows) == 11578
        assert rows[0][0] == 6  # query 1: gt 7..59 (1-based)


def test_index_out_of_range_names_file_and_line():
    with pytest.raises(DatasetError, match=r"gt_index\.txt:\d+: index 11579 out of range"):
        read_veri_index_file(os.path.join(REAL, "gt_index.txt"), 11578)
