"""VeRi-Wild (Lou et al., CVPR 2019) in its official layout.

Layout: ``images/<vehicle id>/<image id>.jpg`` and ``train_test_split/`` holding
``train_list.txt``, ``test_{3000,5000,10000}.txt`` (gallery), ``test_<N>_query.txt`` (lines
``<vehicle id>/<image id>``) and ``vehicle_info.txt`` (``id/image;Camera ID;Time;Model;Type;
Color`` after a header line).
"""
from __future__ import annotations

import os
import re

from vreid_lite.data.formats.common import list_names, parse_int, read_lines, require_dir, require_file
from vreid_lite.data.records import DatasetError, ReIDDataset, Record

_KEY = re.compile(r"(\d+)/(\d+)(?:\.jpg)?")

Info = tuple[int, str, str, str]  # camera, model, type, colour


def read_vehicle_info(path: str) -> dict[str, Info]:
    """``"<vid>/<image id>"`` -> (camera, model, type, colour) from ``vehicle_info.txt``."""
    what = "'<vehicle id>/<image id>;<camera id>;<time>;<model>;<type>;<colour>' per line"
    out: dict[str, Info] = {}
    for number, line in read_lines(path, what):
        fields = [f.strip() for f in line.split(";")]
        key = _KEY.fullmatch(fields[0])
        if key is None and not out and number == 1:
            continue  # the header line
        if key is None or len(fields) < 6:
            raise DatasetError(f"{path}:{number}: {line!r}; expected {what}")
        camera = parse_int(fields[1], path, number, "an integer camera id")
        name = f"{key.group(1)}/{key.group(2)}"
        info = (camera, ";".join(fields[3:-2]), fields[-2], fields[-1])
        if out.get(name, info) != info:
            raise DatasetError(f"{path}:{number}: {name} described a second time, differently")
        out[name] = info
    return out


def _index(names: set[str]) -> dict[str, int]:
    return {name: i for i, name in enumerate(sorted(names))}


def load_veriwild(root: str, test_size: int = 3000) -> ReIDDataset:
    """Read a VeRi-Wild tree with the Test-``test_size`` (3000, 5000 or 10000) query/gallery."""
    root = os.path.abspath(os.path.expanduser(str(root)))
    require_dir(root, "a VeRi-Wild tree (images/, train_test_split/)")
    image_dir = require_dir(os.path.join(root, "images"), "one folder of <image id>.jpg per vehicle id")
    split_dir = require_dir(os.path.join(root, "train_test_split"),
                            "train_list.txt, test_<N>.txt, vehicle_info.txt")
    info_path = require_file(os.path.join(split_dir, "vehicle_info.txt"), "';'-separated image attributes")
    info = read_vehicle_info(info_path)
    colors = _index({c for _, _, _, c in info.values() if c})
    types = _index({t for _, _, t, _ in info.values() if t})
    models = _index({m for _, m, _, _ in info.values() if m})
    folders: dict[str, set[str]] = {}

    def read_split(file: str) -> list[Record]:
        path = require_file(os.path.join(split_dir, file), "'<vehicle id>/<image id>' per line")
        records, seen = [], {}
        for number, line in read_lines(path, "'<vehicle id>/<image id>' per line"):
            key = _KEY.fullmatch(line.strip())
            if key is None:
                raise DatasetError(f"{path}:{number}: {line!r}; expected '<vehicle id>/<image id>'")
            vid, image = key.groups()
            name = f"{vid}/{image}"
            if name in seen:
                raise DatasetError(f"{path}:{number}: {name} already listed on line {seen[name]}")
            seen[name] = number
            if vid not in folders:
                folder = os.path.join(image_dir, vid)
                folders[vid] = list_names(folder) if os.path.isdir(folder) else set()
            if image + ".jpg" not in folders[vid]:
                raise DatasetError(f"{path}:{number}: lists {name} but {image_dir}/{name}.jpg does not exist")
            if name not in info:
                raise DatasetError(f"{path}:{number}: {name} has no line in {info_path}; "
                                   "expected one per image")
            camera, _, vtype, color = info[name]
            records.append(Record(os.path.join(image_dir, vid, image + ".jpg"), int(vid), camera, None,
                                  colors.get(color), types.get(vtype)))
        return records

    train = read_split("train_list.txt")
    query = read_split(f"test_{int(test_size)}_query.txt")
    gallery = read_split(f"test_{int(test_size)}.txt")
    meta = {
        "name": "veriwild", "root": root, "protocol": "veri",
        "color_names": list(colors), "type_names": list(types), "model_names": list(models),
        "num_train_ids": len({r.pid for r in train}), "test_size": int(test_size),
    }
    return ReIDDataset(train, query, gallery, meta)
