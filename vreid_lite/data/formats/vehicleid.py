"""PKU VehicleID (Liu et al., 2016) in its official layout.

Layout: ``image/<7-digit image id>.jpg``, ``train_test_split/train_list.txt`` and
``test_list_{800,1600,2400}.txt`` (``"<image id> <vehicle id>"``, unsorted), ``attribute/
color_attr.txt`` and ``model_attr.txt`` (``"<vehicle id> <attribute id>"``, keyed by vehicle;
most vehicles have none). No cameras (camid -1). The test protocol draws one gallery image per
vehicle at random and queries with the rest; ``repeat`` seeds that draw.
"""
from __future__ import annotations

import os
import random
import re

from vreid_lite.data.formats.common import list_names, parse_int, read_lines, require_dir
from vreid_lite.data.records import DatasetError, ReIDDataset, Record

_IMAGE_ID = re.compile(r"\d+")


def read_vehicleid_list(path: str) -> list[tuple[int, str, int]]:
    """``(line, image id, vehicle id)`` per line of a split list; image ids stay strings."""
    what = "'<7-digit image id> <vehicle id>' per line"
    out = []
    for number, line in read_lines(path, what):
        fields = line.split()
        if len(fields) != 2 or not _IMAGE_ID.fullmatch(fields[0]):
            raise DatasetError(f"{path}:{number}: {line!r}; expected {what}")
        out.append((number, fields[0], parse_int(fields[1], path, number, "an integer vehicle id")))
    return out


def read_vehicle_attributes(path: str) -> dict[int, int]:
    """``"<vehicle id> <attribute id>"`` lines -> vehicle id -> attribute id ({} if absent)."""
    if not os.path.isfile(path):
        return {}
    what = "'<vehicle id> <attribute id>' per line"
    out: dict[int, int] = {}
    for number, line in read_lines(path, what):
        fields = line.split()
        if len(fields) != 2:
            raise DatasetError(f"{path}:{number}: {line!r}; expected {what}")
        vid = parse_int(fields[0], path, number, "an integer vehicle id")
        value = parse_int(fields[1], path, number, "an integer attribute id")
        if value < 0:
            raise DatasetError(f"{path}:{number}: attribute {value}; expected an id >= 0")
        if out.get(vid, value) != value:
            raise DatasetError(f"{path}:{number}: vehicle {vid} given a second, different value")
        out[vid] = value
    return out


Item = tuple[str, int]  # image id, vehicle id


def split_gallery(items: list[Item], repeat: int) -> tuple[list[Item], list[Item]]:
    """One random image per vehicle into the gallery, the rest are queries.

    The draw depends only on the set of items and ``repeat`` (items are sorted first), so the
    same repeat gives the same gallery whatever the file order.
    """
    by_vehicle: dict[int, list[str]] = {}
    for image, vid in items:
        by_vehicle.setdefault(vid, []).append(image)
    rng = random.Random(repeat)
    gallery, query = [], []
    for vid in sorted(by_vehicle):
        images = sorted(by_vehicle[vid])
        chosen = rng.randrange(len(images))
        for i, image in enumerate(images):
            (gallery if i == chosen else query).append((image, vid))
    return query, gallery


def load_vehicleid(root: str, test_size: int = 800, repeat: int = 0,
                   require_train: bool = True) -> ReIDDataset:
    """Read a VehicleID tree; query/gallery are repeat number ``repeat`` of the Test-``test_size``
    protocol. ``require_train=False`` accepts a tree without ``train_list.txt`` (empty train)."""
    root = os.path.abspath(os.path.expanduser(str(root)))
    require_dir(root, "a VehicleID tree (image/, train_test_split/, attribute/)")
    image_dir = require_dir(os.path.join(root, "image"), "the <7-digit image id>.jpg files")
    split_dir = require_dir(os.path.join(root, "train_test_split"), "train_list.txt and test_list_<N>.txt")
    present = list_names(image_dir)
    colors = read_vehicle_attributes(os.path.join(root, "attribute", "color_attr.txt"))
    models = read_vehicle_attributes(os.path.join(root, "attribute", "model_attr.txt"))

    def read_split(file: str) -> list[Item]:
        path = os.path.join(split_dir, file)
        rows = read_vehicleid_list(path)
        seen: dict[str, int] = {}
        for number, image, _ in rows:
            if image + ".jpg" not in present:
                raise DatasetError(f"{path}:{number}: lists {image} but "
                                   f"{os.path.join(image_dir, image)}.jpg does not exist")
            if image in seen:
                raise DatasetError(f"{path}:{number}: image {image} already listed on line {seen[image]}")
            seen[image] = number
        return [(image, vid) for _, image, vid in rows]

    def records(items: list[Item]) -> list[Record]:
        return [Record(os.path.join(image_dir, image + ".jpg"), vid, -1, None,
                       colors.get(vid), models.get(vid)) for image, vid in items]

    test_file = f"test_list_{int(test_size)}.txt"
    if not os.path.isfile(os.path.join(split_dir, test_file)):
        raise DatasetError(f"{os.path.join(split_dir, test_file)}: file missing; expected the "
                           f"Test-{test_size} list ('<image id> <vehicle id>' per line)")
    query, gallery = split_gallery(read_split(test_file), repeat)
    train_path = os.path.join(split_dir, "train_list.txt")
    if os.path.isfile(train_path) or require_train:
        if not os.path.isfile(train_path):
            raise DatasetError(f"{train_path}: file missing; expected '<image id> <vehicle id>' per line "
                               "(pass require_train=False to read the test split alone)")
        train = read_split("train_list.txt")
    else:
        train = []
    meta = {
        "name": "vehicleid", "root": root, "protocol": "vehicleid",
        "color_names": [f"color {i}" for i in range(max(colors.values(), default=-1) + 1)],
        "type_names": [f"model {i}" for i in range(max(models.values(), default=-1) + 1)],
        "num_train_ids": len({vid for _, vid in train}),
        "test_size": int(test_size), "repeat": int(repeat),
    }
    return ReIDDataset(records(train), records(query), records(gallery), meta)
