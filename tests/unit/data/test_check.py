import io
import os

import pytest
import yaml
from PIL import Image

from vreid_lite.cli import main
from vreid_lite.config import get_preset
from vreid_lite.data.check import check_dataset, resolve
from vreid_lite.data.formats import KINDS
from vreid_lite.data.records import DatasetError, ReIDDataset
from vreid_lite.experiment import make_loaders
from vreid_lite.paths import RECIPES_DIR

TRAIN = ["0001_c001_00000001_0.jpg", "0001_c002_00000002_0.jpg", "0002_c001_00000003_0.jpg"]
TEST = ["0005_c003_00000004_0.jpg", "0005_c004_00000005_0.jpg", "0006_c003_00000006_0.jpg"]
QUERY = ["0005_c003_00000004_0.jpg"]


def _jpeg_bytes():
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 10, 10)).save(buf, "JPEG")
    return buf.getvalue()


def _xml(items):
    body = "".join(f'<Item imageName="{n}" vehicleID="{n[:4]}" cameraID="{n[5:9]}" colorID="{c}" typeID="{t}" />\n'
                   for n, c, t in items)
    return f'<?xml version="1.0" encoding="gb2312" ?>\n<TrainingImages><Items>\n{body}</Items></TrainingImages>\n'


@pytest.fixture
def veri(tmp_path):
    root = tmp_path / "VeRi"
    root.mkdir()
    (root / "list_color.txt").write_text("1 yellow\n2 red\n3 black\n4 green")
    (root / "list_type.txt").write_text("1 sedan\r\n2 bus")
    (root / "train_label.xml").write_text(_xml([(TRAIN[0], 3, 1), (TRAIN[1], 3, 1), (TRAIN[2], 2, 0)]))
    (root / "test_label.xml").write_text(_xml([(TEST[0], 1, 2), (TEST[1], 1, 2), (TEST[2], 3, 1)]))
    (root / "viewpoints.csv").write_text("image_name,view\n" + "".join(f"{n},side\n" for n in TRAIN))
    jpeg = _jpeg_bytes()
    for split, folder, names in (("train", "image_train", TRAIN), ("test", "image_test", TEST),
                                 ("query", "image_query", QUERY)):
        (root / f"name_{split}.txt").write_text("\r\n".join(names))
        (root / folder).mkdir()
        for name in names:
            (root / folder / name).write_bytes(jpeg)
    return root


def test_summary_counts_and_histograms(veri):
    text = check_dataset("veri776", str(veri), progress=False)
    lines = text.splitlines()
    assert lines[0].startswith(f"veri776 at {veri}") and "protocol veri" in lines[0]
    assert [l.split() for l in lines if l.split()[:1] in (["train"], ["query"], ["gallery"])][:3] == [
        ["train", "2", "3", "2"], ["query", "1", "1", "1"], ["gallery", "2", "3", "2"]]
    assert ["black", "2", "0", "1"] in [l.split() for l in lines]
    assert ["yellow", "0", "1", "2"] in [l.split() for l in lines]
    assert ["(unlabelled)", "1", "0", "0"] in [l.split() for l in lines]  # typeID="0"
    assert ["side", "3", "0", "0"] in [l.split() for l in lines]
    assert ["red", "1", "0", "0"] in [l.split() for l in lines]
    assert "green" not in text  # a colour nobody has is not listed
    assert "images: 7 files decoded, all readable" in text


def test_corrupt_image_names_the_file(veri):
    (veri / "image_test" / TEST[1]).write_bytes(b"not a jpeg at all")
    with pytest.raises(DatasetError, match=rf"image_test.{TEST[1]}: cannot decode image"):
        check_dataset("veri776", str(veri), progress=False)


def test_truncated_image_names_the_file(veri):
    (veri / "image_train" / TRAIN[2]).write_bytes(_jpeg_bytes()[:200])
    with pytest.raises(DatasetError, match=rf"image_train.{TRAIN[2]}"):
        check_dataset("veri776", str(veri), progress=False)


def test_corrupt_mask_names_the_file(veri):
    (veri / "masks" / "train").mkdir(parents=True)
    for name in TRAIN:
        Image.new("L", (16, 16), 1).save(veri / "masks" / "train" / (name[:-4] + ".png"))
    (veri / "masks" / "train" / (TRAIN[0][:-4] + ".png")).write_bytes(b"\x89PNG broken")
    with pytest.raises(DatasetError, match=r"masks.train.0001_c001_00000001_0\.png: cannot decode"):
        check_dataset("veri776", str(veri), progress=False)


def test_no_images_skips_decoding(veri):
    (veri / "image_test" / TEST[1]).write_bytes(b"not a jpeg at all")
    text = check_dataset("veri776", str(veri), verify_images=False, progress=False)
    assert "not decoded" in text


def test_index_files_validated_against_query_and_gallery(veri):
    (veri / "gt_index.txt").write_bytes(b"2 \r\n")
    (veri / "jk_index.txt").write_bytes(b"1 \r\n")
    text = check_dataset("veri776", str(veri), verify_images=False, progress=False)
    assert "gt_index.txt: 1 queries" in text and "jk_index.txt: 1 queries" in text
    (veri / "gt_index.txt").write_bytes(b"2 \r\n4 \r\n")
    with pytest.raises(DatasetError, match=r"gt_index\.txt:2: index 4 out of range"):
        check_dataset("veri776", str(veri), verify_images=False, progress=False)


def test_recipe_path_gives_kind_root_and_options(veri, tmp_path):
    kp = tmp_path / "kp.txt"
    kp.write_text(f"VeRi/image_test/{TEST[0]} " + "-1 " * 40 + "0\n")
    recipe = tmp_path / "mine.yaml"
    recipe.write_text(yaml.safe_dump({"kind": "veri776", "root": str(veri), "options": {"viewpoints": str(kp)}}))
    assert resolve(str(recipe)) == ("veri776", str(veri), {"viewpoints": str(kp)})
    text = check_dataset(str(recipe), verify_images=False, progress=False)
    assert ["front", "0", "1", "1"] in [l.split() for l in text.splitlines()]


def test_synthetic_recipe_needs_a_root_and_uses_the_veri_reader(veri, tmp_path, monkeypatch):
    monkeypatch.setenv("VREID_DATA_DIR", str(tmp_path / "empty"))
    recipe = tmp_path / "synth_tiny.yaml"
    recipe.write_text(yaml.safe_dump({"train_ids": 2, "test_ids": 2, "seed": 0}))
    with pytest.raises(ValueError, match=r"vreid data synth synth_tiny --out DIR"):
        resolve(str(recipe))
    assert resolve(str(recipe), str(veri)) == ("veri776", str(veri), {})
    monkeypatch.setenv("VREID_DATA_DIR", str(veri.parent))
    (veri.parent / "synth_tiny").symlink_to(veri)
    assert resolve(str(recipe))[1] == str(veri.parent / "synth_tiny")


def test_unknown_name_lists_the_kinds():
    with pytest.raises(ValueError, match=r"'market1501' is neither a dataset kind \(veri776, vehicleid"):
        resolve("market1501")


def test_recipe_with_unknown_kind_names_the_recipe(tmp_path):
    recipe = tmp_path / "odd.yaml"
    recipe.write_text("kind: market1501\nroot: /x\n")
    with pytest.raises(DatasetError, match=r"odd\.yaml: kind 'market1501'"):
        resolve(str(recipe))


@pytest.mark.parametrize("name", KINDS)
def test_real_recipes_are_complete(name):
    with open(RECIPES_DIR / f"{name}.yaml") as f:
        recipe = yaml.safe_load(f)
    assert recipe["kind"] == name
    assert recipe["source"].count("https://") == 1 and recipe["layout"].strip()
    kind, root, options = resolve(name)
    assert kind == name and root == os.path.expanduser(recipe["root"]) and not root.startswith("~")
    assert options == (recipe.get("options") or {})


def test_cli_prints_summary_and_reports_errors(veri, capsys):
    assert main(["data", "check", "veri776", str(veri), "--no-images"]) == 0
    assert "veri776 at" in capsys.readouterr().out
    (veri / "name_query.txt").unlink()
    assert main(["data", "check", "veri776", str(veri), "--no-images"]) == 2
    assert "name_query.txt: file missing" in capsys.readouterr().err


@pytest.mark.parametrize("value, kind", [(1, "part masks"), (255, "foreground masks")])
def test_summary_says_whether_masks_hold_parts_or_a_foreground(veri, value, kind):
    (veri / "masks" / "train").mkdir(parents=True)
    for name in TRAIN:
        mask = Image.new("L", (16, 16), 0)
        mask.paste(value, (4, 4, 12, 12))
        mask.save(veri / "masks" / "train" / (name[:-4] + ".png"))
    text = check_dataset("veri776", str(veri), progress=False)
    assert f"masks: 3 images have {kind}" in text


def test_a_dataset_without_training_images_fails_the_check(veri):
    (veri / "name_train.txt").write_text("")
    (veri / "train_label.xml").write_text(_xml([]))
    with pytest.raises(DatasetError, match=r"VeRi: the veri776 training split holds no images"):
        check_dataset("veri776", str(veri))


def test_loaders_over_an_empty_training_split_name_the_dataset(veri):
    empty = ReIDDataset([], [], [], meta={"root": str(veri)})
    with pytest.raises(DatasetError, match="the training split holds no images"):
        make_loaders(empty, get_preset("quick"), "cpu")
