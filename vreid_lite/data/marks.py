"""Identity marks: ``marks.json`` (image name → ``[{"kind", "box"}, …]``), boxes in whole
pixels and mapped onto a resized image, and the records that show a mark."""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from vreid_lite.data.records import DatasetError


def load_marks(path: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Read ``marks.json`` ({image name: [{"kind": str, "box": [x0, y0, x1, y1]}, …]})."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected an object {{image name: [marks]}}, "
                           f"got {type(data).__name__}")
    for name, marks in data.items():
        if not isinstance(marks, list):
            raise DatasetError(f"{path}: item {name!r}: expected a list of marks")
        for i, mark in enumerate(marks):
            box = mark.get("box") if isinstance(mark, dict) else None
            if not (isinstance(box, list) and len(box) == 4
                    and all(isinstance(v, (int, float)) for v in box)):
                raise DatasetError(f"{path}: item {name!r} mark {i}: expected "
                                   f"{{'kind': str, 'box': [x0, y0, x1, y1]}}, got {mark!r}")
    return data


def pixel_box(box: Sequence[float], index: int) -> tuple[int, int, int, int]:
    """``[x0, y0, x1, y1]`` rounded to whole pixels; a malformed or empty box (x1 <= x0 or
    y1 <= y0) raises ``ValueError`` naming box ``index``."""
    if len(box) != 4:
        raise ValueError(f"box {index}: expected [x0, y0, x1, y1], got {list(box)}")
    x0, y0, x1, y1 = (int(round(float(v))) for v in box)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box {index}: expected x0 < x1 and y0 < y1, got {list(box)}")
    return x0, y0, x1, y1


def scale_boxes(boxes: Iterable[Sequence[float]], from_size: tuple[int, int],
                to_size: tuple[int, int]) -> list[list[float]]:
    """Boxes drawn on a ``from_size`` (H, W) image mapped onto a ``to_size`` (H, W) resize."""
    sy = to_size[0] / from_size[0]
    sx = to_size[1] / from_size[1]
    return [[b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy] for b in boxes]


def image_size_of(path: str) -> tuple[int, int]:
    """(height, width) of the image file at ``path`` (read from its header)."""
    try:
        with Image.open(path) as im:
            return im.height, im.width
    except OSError as exc:
        raise ValueError(f"{path}: cannot open the image ({exc})") from exc


def records_with_marks(records: Sequence, marks: Mapping[str, list]) -> list:
    """The records whose image shows at least one mark in ``marks`` (``load_marks`` output)."""
    return [r for r in records if marks.get(r.name)]
