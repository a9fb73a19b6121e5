"""VeRi-776 (Liu et al.) in its official layout, and synthetic sets rendered in that layout.

Layout: ``image_train/ image_query/ image_test/``, ``name_{train,query,test}.txt``,
``train_label.xml``, ``test_label.xml``, ``list_color.txt``, ``list_type.txt``; optional
``gt_index.txt``/``jk_index.txt`` and, from the synthetic renderer, ``viewpoints.csv``,
``masks/{train,query,test}/<stem>.png`` and ``marks.json``.
"""
from __future__ import annotations

import os
import re

from vreid_lite.data.formats.common import (
    list_names, parse_camera, parse_int, read_id_names, read_image_list, read_xml_elements,
    require_dir,
)
from vreid_lite.data.formats.veri_annotations import read_veri_orientation_views, read_viewpoints_csv
from vreid_lite.data.records import DatasetError, ReIDDataset, Record

SPLITS = {  # split -> (image folder, name list, label file, mask folder)
    "train": ("image_train", "name_train.txt", "train_label.xml", "train"),
    "query": ("image_query", "name_query.txt", "test_label.xml", "query"),
    "gallery": ("image_test", "name_test.txt", "test_label.xml", "test"),
}
_NAME = re.compile(r"(\d+)_c(\d+)_")
_NAME_HINT = "a name like '0002_c002_00030600_0.jpg' (<vehicle id>_c<camera>_...)"

Label = tuple[int, int, int | None, int | None]  # pid, camid, color, vtype


def _attribute_index(value: str | None, names: list[str], path: str, line: int, what: str) -> int | None:
    """1-based attribute id -> 0-based index; absent or 0 (old releases' typeID="0") -> None."""
    if value is None or value.strip() in ("", "0"):
        return None
    ident = parse_int(value, path, line, f"a {what} id")
    if not 1 <= ident <= len(names):
        raise DatasetError(f"{path}:{line}: {what}ID={value!r}; expected 1..{len(names)} (list_{what}.txt)")
    return ident - 1


def read_veri_labels(path: str, color_names: list[str], type_names: list[str]) -> dict[str, Label]:
    """Image name -> (pid, camid, color, vtype) from ``train_label.xml`` / ``test_label.xml``."""
    what = "<Item imageName=... vehicleID=... cameraID=... colorID=... typeID=.../> elements"
    labels: dict[str, Label] = {}
    for line, attrs in read_xml_elements(path, "Item", what):
        missing = [k for k in ("imageName", "vehicleID", "cameraID") if k not in attrs]
        if missing:
            raise DatasetError(f"{path}:{line}: Item lacks {', '.join(missing)}; expected {what}")
        name = attrs["imageName"].strip()
        label = (
            parse_int(attrs["vehicleID"], path, line, "a numeric vehicleID"),
            parse_camera(attrs["cameraID"], path, line),
            _attribute_index(attrs.get("colorID"), color_names, path, line, "color"),
            _attribute_index(attrs.get("typeID"), type_names, path, line, "type"),
        )
        if labels.get(name, label) != label:
            raise DatasetError(f"{path}:{line}: {name} labelled twice with different values")
        labels[name] = label
    return labels


def label_from_name(name: str, path: str, line: int) -> tuple[int, int]:
    """(pid, camid) from a VeRi image name, or a DatasetError naming the list file and line."""
    match = _NAME.match(name)
    if not match:
        raise DatasetError(f"{path}:{line}: cannot read vehicle and camera from {name!r}; "
                           f"expected {_NAME_HINT}")
    return int(match.group(1)), int(match.group(2))


def _mask_paths(root: str, mask_folder: str, names: list[tuple[int, str]]) -> list[str | None]:
    folder = os.path.join(root, "masks", mask_folder)
    if not os.path.isdir(folder):
        return [None] * len(names)
    present = list_names(folder)
    out = []
    for _, name in names:
        mask = os.path.splitext(name)[0] + ".png"
        if mask not in present:
            raise DatasetError(f"{os.path.join(folder, mask)}: mask missing for {name}; "
                               "expected one per image")
        out.append(os.path.join(folder, mask))
    return out


def load_veri776(root: str, viewpoints: str | list[str] | None = None) -> ReIDDataset:
    """Read a VeRi-776 tree. ``viewpoints``: keypoint/orientation file(s) (``keypoint_test.txt``,
    ``keypoint_train.txt``) whose views are set on the records they name, by image name, over
    any ``viewpoints.csv`` the tree carries."""
    root = os.path.abspath(os.path.expanduser(str(root)))
    require_dir(root, "a VeRi-776 tree (image_train/, name_train.txt, train_label.xml, ...)")
    color_names = read_id_names(os.path.join(root, "list_color.txt"), "'<id> <colour name>' lines")
    type_names = read_id_names(os.path.join(root, "list_type.txt"), "'<id> <type name>' lines")
    labels = {
        f: read_veri_labels(os.path.join(root, f), color_names, type_names)
        for f in ("train_label.xml", "test_label.xml")
    }
    views: dict[str, str | None] = {}
    csv_path = os.path.join(root, "viewpoints.csv")
    if os.path.isfile(csv_path):
        views.update(read_viewpoints_csv(csv_path))
    for path in [viewpoints] if isinstance(viewpoints, (str, os.PathLike)) else viewpoints or []:
        views.update(read_veri_orientation_views(os.path.expanduser(str(path))))

    splits: dict[str, list[Record]] = {}
    for split, (folder, list_file, label_file, mask_folder) in SPLITS.items():
        list_path = os.path.join(root, list_file)
        names = read_image_list(list_path, os.path.join(root, folder))
        masks = _mask_paths(root, mask_folder, names)
        records = []
        for (line, name), mask in zip(names, masks):
            label = labels[label_file].get(name)
            if label is None:
                label = (*label_from_name(name, list_path, line), None, None)
            pid, camid, color, vtype = label
            records.append(Record(os.path.join(root, folder, name), pid, camid, views.get(name),
                                  color, vtype, mask))
        splits[split] = records

    meta = {
        "name": "veri776", "root": root, "protocol": "veri",
        "color_names": color_names, "type_names": type_names,
        "num_train_ids": len({r.pid for r in splits["train"]}),
    }
    for key, file in (("marks_path", "marks.json"), ("gt_index_path", "gt_index.txt"),
                      ("jk_index_path", "jk_index.txt")):
        if os.path.isfile(os.path.join(root, file)):
            meta[key] = os.path.join(root, file)
    return ReIDDataset(splits["train"], splits["query"], splits["gallery"], meta)
