"""The VeRi-776 layout files of a rendered set, plus the extras only a synthetic set can have.

VeRi files: ``name_{train,query,test}.txt`` (one name per line, LF), ``train_label.xml`` /
``test_label.xml`` (gb2312 header, VeRi indentation; test covers ``image_test``),
``list_color.txt`` / ``list_type.txt`` (as released: LF, no final newline), ``gt_index.txt`` /
``jk_index.txt`` (per query, 1-based ``name_test.txt`` indices of same-id images from other
cameras / from the query's own camera, its own copy included; CRLF and a trailing space, as
released).

Extras: ``viewpoints.csv`` (``image_name,view``, one row per distinct image: a query is the same
image as its ``image_test`` copy), ``marks.json`` (image name → visible marks with pixel boxes,
``x1``/``y1`` exclusive), ``identities.json`` (id → split, type, colour, marks: what tells each
vehicle apart). Images and masks are written by the renderer.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vreid_lite.data.synthetic.identities import Identity, ImageJob
from vreid_lite.data.synthetic.palette import COLOR_NAMES, TYPE_NAMES, id_list_text

IMAGE_DIRS = {"train": "image_train", "query": "image_query", "test": "image_test"}


def write_text(path: Path, text: str, newline: str = "\n") -> None:
    path.write_bytes(text.replace("\n", newline).encode("ascii"))


def label_xml(root_tag: str, jobs: list[ImageJob], identities: dict[int, Identity]) -> str:
    lines = ['<?xml version="1.0" encoding="gb2312" ?>', f'<{root_tag} Version="1.0">',
             f'  <Items number="{len(jobs)}">']
    for j in jobs:
        ident = identities[j.pid]
        lines.append(f'        <Item imageName="{j.name}" vehicleID="{j.pid:04d}" cameraID="c{j.camera:03d}" '
                     f'colorID="{ident.color + 1}" typeID="{ident.vtype + 1}" />')
    lines += ["    </Items>", f"</{root_tag}>", ""]
    return "\n".join(lines)


def index_files(query: list[ImageJob], gallery: list[ImageJob]) -> tuple[str, str]:
    """``gt_index.txt`` and ``jk_index.txt`` texts (LF; written with CRLF)."""
    by_pid: dict[int, list[tuple[int, int]]] = {}
    for i, g in enumerate(gallery, start=1):
        by_pid.setdefault(g.pid, []).append((i, g.camera))
    gt, jk = [], []
    for q in query:
        same = by_pid.get(q.pid, [])
        gt.append("".join(f"{i} " for i, c in same if c != q.camera))
        jk.append("".join(f"{i} " for i, c in same if c == q.camera))
    return "\n".join(gt) + "\n", "\n".join(jk) + "\n"


def write_layout(root: Path, identities: list[Identity], jobs: list[ImageJob],
                 views: dict[str, str], marks: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """Write every listing and annotation file into ``root``; returns image counts per split."""
    ids = {i.pid: i for i in identities}
    train = [j for j in jobs if j.split == "train"]
    gallery = [j for j in jobs if j.split == "test"]
    query = [j for j in gallery if j.query]
    for split, items in (("train", train), ("query", query), ("test", gallery)):
        write_text(root / f"name_{split}.txt", "".join(f"{j.name}\n" for j in items))
    write_text(root / "train_label.xml", label_xml("TrainingImages", train, ids))
    write_text(root / "test_label.xml", label_xml("TestImages", gallery, ids))
    write_text(root / "list_color.txt", id_list_text(COLOR_NAMES))
    write_text(root / "list_type.txt", id_list_text(TYPE_NAMES))
    gt, jk = index_files(query, gallery)
    write_text(root / "gt_index.txt", gt, "\r\n")
    write_text(root / "jk_index.txt", jk, "\r\n")
    write_text(root / "viewpoints.csv",
               "image_name,view\n" + "".join(f"{j.name},{views[j.name]}\n" for j in jobs))
    rows = ",\n".join(f"{json.dumps(j.name)}: {json.dumps(marks[j.name])}" for j in jobs)
    write_text(root / "marks.json", "{\n" + rows + "\n}\n")
    described = {
        f"{i.pid:04d}": {"split": i.split, "type": TYPE_NAMES[i.vtype], "color": COLOR_NAMES[i.color],
                         "marks": [{"kind": m.kind, "variant": m.variant, "color_bgr": list(m.color)}
                                   for m in i.marks]}
        for i in identities
    }
    rows = ",\n".join(f"{json.dumps(pid)}: {json.dumps(d)}" for pid, d in described.items())
    write_text(root / "identities.json", "{\n" + rows + "\n}\n")
    return {"train": len(train), "query": len(query), "test": len(gallery)}
