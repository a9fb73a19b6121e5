"""Annotation files that accompany VeRi-776: orientation labels, index files, viewpoint lists."""
from __future__ import annotations

from vreid_lite.data.formats.common import parse_int, read_lines
from vreid_lite.data.records import VIEWS, DatasetError

ORIENTATION_VIEWS = {
    0: "front", 1: "rear", 2: "side", 3: "front_side", 4: "rear_side",
    5: "side", 6: "front_side", 7: "rear_side",
}
"""Wang et al.'s 8 orientations (0 front, 1 rear, 2 left, 3 left-front, 4 left-rear, 5 right,
6 right-front, 7 right-rear) folded onto the kit's 5 views: left and right are both ``side``."""

_KEYPOINT_FIELDS = 42  # image path, 20 (x, y) keypoints, orientation


def read_veri_orientation_views(path: str) -> dict[str, str]:
    """Image name -> view from a keypoint/orientation file (``keypoint_test.txt``).

    The released file repeats 500 lines verbatim; repeats that agree are accepted, a repeat
    that disagrees with an earlier line is an error.
    """
    what = "'<image path> x1 y1 ... x20 y20 <orientation 0-7>' per line (42 fields)"
    first: dict[str, tuple[int, list[str]]] = {}
    views: dict[str, str] = {}
    for number, line in read_lines(path, what):
        fields = line.split()
        if len(fields) != _KEYPOINT_FIELDS:
            raise DatasetError(f"{path}:{number}: {len(fields)} fields; expected {what}")
        name = fields[0].replace("\\", "/").rsplit("/", 1)[-1]
        orient = parse_int(fields[-1], path, number, "an orientation 0-7")
        if orient not in ORIENTATION_VIEWS:
            raise DatasetError(f"{path}:{number}: orientation {orient}; expected 0-7")
        if name in first:
            line0, fields0 = first[name]
            if fields0 != fields[1:]:
                raise DatasetError(
                    f"{path}:{number}: {name} repeats line {line0} with different values; "
                    "expected repeated lines to agree"
                )
            continue
        first[name] = (number, fields[1:])
        views[name] = ORIENTATION_VIEWS[orient]
    return views


def read_veri_index_file(path: str, n_gallery: int) -> list[list[int]]:
    """``gt_index.txt`` / ``jk_index.txt``: one line per query of 1-based indices into
    ``name_test.txt``, returned 0-based. An index outside 1..n_gallery is an error."""
    what = f"one line per query of 1-based indices into name_test.txt (1..{n_gallery})"
    out = []
    for number, line in read_lines(path, what, keep_blank=True):
        row = []
        for token in line.split():
            index = parse_int(token, path, number, "a 1-based gallery index")
            if not 1 <= index <= n_gallery:
                raise DatasetError(f"{path}:{number}: index {index} out of range; expected {what}")
            row.append(index - 1)
        out.append(row)
    return out


def read_viewpoints_csv(path: str) -> dict[str, str | None]:
    """``viewpoints.csv`` (header ``image_name,view``) -> image name -> view (empty -> None)."""
    what = f"'image_name,view' lines with view one of {', '.join(VIEWS)}"
    lines = read_lines(path, what)
    if not lines or [f.strip() for f in lines[0][1].split(",")] != ["image_name", "view"]:
        raise DatasetError(f"{path}:1: header missing; expected 'image_name,view'")
    views: dict[str, str | None] = {}
    for number, line in lines[1:]:
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != 2 or not fields[0]:
            raise DatasetError(f"{path}:{number}: {line!r}; expected {what}")
        name, view = fields
        if view and view not in VIEWS:
            raise DatasetError(f"{path}:{number}: view {view!r}; expected one of {', '.join(VIEWS)}")
        if name in views and views[name] != (view or None):
            raise DatasetError(f"{path}:{number}: {name} given a second, different view")
        views[name] = view or None
    return views


ORIENTATION_MVAN_VIEWS = {
    3: {0: "front", 1: "rear", 2: "side", 3: "front", 4: "rear", 5: "side", 6: "front",
        7: "rear"},
    2: {0: "front", 1: "rear", 2: None, 3: "front", 4: "rear", 5: None, 6: "front", 7: "rear"},
}
"""Wang et al.'s 8 orientations → MVAN's viewpoint classes (Teng et al. 2021, Fig. 2: a
diagonal view belongs to the face it shows). V = 3: front, rear, side; V = 2 (the paper's
front/rear estimator for VehicleID): left and right views have no class (``None``)."""


def read_veri_mvan_views(path: str, num_views: int = 3) -> dict[str, str | None]:
    """Image name -> MVAN viewpoint class from a keypoint/orientation file, through
    ``ORIENTATION_MVAN_VIEWS``; ``None`` where the orientation has no class at this V."""
    if num_views not in ORIENTATION_MVAN_VIEWS:
        raise ValueError(f"num_views={num_views!r}; expected 2 (front, rear) or 3 "
                         "(front, rear, side)")
    orientation_of = {view: o for o, view in ORIENTATION_VIEWS.items()}  # any representative
    table = ORIENTATION_MVAN_VIEWS[num_views]
    return {name: table[orientation_of[view]]
            for name, view in read_veri_orientation_views(path).items()}
