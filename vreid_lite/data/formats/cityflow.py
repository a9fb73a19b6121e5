"""CityFlow-ReID (AI City Challenge 2019, track 2).

Layout: ``image_train/ image_query/ image_test/``, ``name_{train,query,test}.txt`` and
``train_label.xml`` (``<Item imageName vehicleID cameraID/>``, no colour or type). Query and
test images are unlabelled (pid -1, camid -1). ``test_track.txt`` (optional: the images of one
tracklet per line) is kept in ``meta["test_tracks"]``.
"""
from __future__ import annotations

import os

from vreid_lite.data.formats.common import (
    parse_camera, parse_int, read_image_list, read_lines, read_xml_elements, require_dir,
)
from vreid_lite.data.records import DatasetError, ReIDDataset, Record


def read_cityflow_labels(path: str) -> dict[str, tuple[int, int]]:
    """Image name -> (vehicle id, camera) from ``train_label.xml``."""
    what = "<Item imageName=... vehicleID=... cameraID=.../> elements"
    labels: dict[str, tuple[int, int]] = {}
    for line, attrs in read_xml_elements(path, "Item", what):
        missing = [k for k in ("imageName", "vehicleID", "cameraID") if k not in attrs]
        if missing:
            raise DatasetError(f"{path}:{line}: Item lacks {', '.join(missing)}; expected {what}")
        name = attrs["imageName"].strip()
        label = (parse_int(attrs["vehicleID"], path, line, "a numeric vehicleID"),
                 parse_camera(attrs["cameraID"], path, line))
        if labels.get(name, label) != label:
            raise DatasetError(f"{path}:{line}: {name} labelled twice with different values")
        labels[name] = label
    return labels


def read_tracks(path: str, known: set[str]) -> list[list[str]]:
    """One tracklet (space-separated image names) per non-blank line; names must be ``known``."""
    tracks = []
    for number, line in read_lines(path, "space-separated image names, one tracklet per line"):
        names = line.split()
        for name in names:
            if name not in known:
                raise DatasetError(f"{path}:{number}: {name} is not in name_test.txt")
        tracks.append(names)
    return tracks


def load_cityflow(root: str) -> ReIDDataset:
    """Read a CityFlow-ReID tree: labelled train split, unlabelled query and gallery."""
    root = os.path.abspath(os.path.expanduser(str(root)))
    require_dir(root, "a CityFlow-ReID tree (image_train/, name_train.txt, train_label.xml, ...)")
    label_path = os.path.join(root, "train_label.xml")
    labels = read_cityflow_labels(label_path)

    def names(split: str) -> list[tuple[int, str]]:
        return read_image_list(os.path.join(root, f"name_{split}.txt"), os.path.join(root, f"image_{split}"))

    train = []
    list_path = os.path.join(root, "name_train.txt")
    for line, name in names("train"):
        if name not in labels:
            raise DatasetError(f"{list_path}:{line}: {name} has no Item in {label_path}")
        pid, camid = labels[name]
        train.append(Record(os.path.join(root, "image_train", name), pid, camid))
    query = [Record(os.path.join(root, "image_query", n), -1, -1) for _, n in names("query")]
    test_names = names("test")
    gallery = [Record(os.path.join(root, "image_test", n), -1, -1) for _, n in test_names]
    meta = {
        "name": "cityflow", "root": root, "protocol": "none", "color_names": [], "type_names": [],
        "num_train_ids": len({r.pid for r in train}),
    }
    track_path = os.path.join(root, "test_track.txt")
    if os.path.isfile(track_path):
        meta["test_tracks"] = read_tracks(track_path, {n for _, n in test_names})
    return ReIDDataset(train, query, gallery, meta)
