"""The plan of a synthetic set: identities (type, colour, marks), which split each belongs to,
and every image to render (camera, frame, yaw), all drawn from the recipe's seed.

Ids ``1 … train_ids + test_ids`` are shuffled between train and test (interleaved, as in
VeRi-776). An identity passes 2 or more cameras; under one camera its images are consecutive
frames of one track, so their yaws drift slowly. For each test identity one image per camera is
the query; the gallery (``image_test``) holds every test image, queries included.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from vreid_lite.data.synthetic.body import build_body
from vreid_lite.data.synthetic.cameras import CameraStyle
from vreid_lite.data.synthetic.marks import Mark, kinds_for, sample_marks
from vreid_lite.data.synthetic.palette import COLOR_BGR, COLOR_NAMES, TYPE_NAMES


@dataclass(frozen=True)
class Identity:
    pid: int
    split: str                 # "train" or "test"
    vtype: int                 # 0-based index into TYPE_NAMES
    color: int                 # 0-based index into COLOR_NAMES
    marks: tuple[Mark, ...]


@dataclass(frozen=True)
class ImageJob:
    index: int                 # position in name order; seeds the image's own randomness
    name: str                  # <pid>_c<camera>_<frame>_0.jpg
    pid: int
    camera: int
    frame: int
    yaw: float
    split: str                 # "train" or "test"
    query: bool                # also written to image_query


def image_name(pid: int, camera: int, frame: int) -> str:
    return f"{pid:04d}_c{camera:03d}_{frame:08d}_0.jpg"


@lru_cache(maxsize=None)
def _mark_kinds(type_name: str, kinds: tuple[str, ...]) -> tuple[str, ...]:
    return kinds_for(build_body(type_name, (0, 0, 0)), kinds)


def _pick(rng: np.random.Generator, weights: dict[str, float], names: tuple[str, ...]) -> int:
    w = np.array([weights.get(n, 0.0) for n in names])
    return int(rng.choice(len(names), p=w / w.sum()))


def plan(recipe: dict[str, Any], seed: int, cameras: list[CameraStyle]) -> tuple[list[Identity], list[ImageJob]]:
    """Identities and image jobs (sorted by name) of a validated recipe."""
    rng = np.random.default_rng([seed, 0])
    n_ids = recipe["train_ids"] + recipe["test_ids"]
    test = set((rng.choice(n_ids, recipe["test_ids"], replace=False) + 1).tolist())
    kinds = tuple(recipe["mark_kinds"])
    identities, rows = [], []
    for pid in range(1, n_ids + 1):
        vtype = _pick(rng, recipe["type_weights"], TYPE_NAMES)
        color = _pick(rng, recipe["color_weights"], COLOR_NAMES)
        n_marks = int(rng.integers(recipe["marks_per_id"][0], recipe["marks_per_id"][1] + 1))
        marks = sample_marks(rng, n_marks, COLOR_BGR[COLOR_NAMES[color]], _mark_kinds(TYPE_NAMES[vtype], kinds))
        split = "test" if pid in test else "train"
        identities.append(Identity(pid, split, vtype, color, marks))

        n_img = int(rng.integers(recipe["images_per_id"][0], recipe["images_per_id"][1] + 1))
        n_cam = min(n_img, int(rng.integers(recipe["cameras_per_id"][0], recipe["cameras_per_id"][1] + 1)))
        cams = np.sort(rng.choice(len(cameras), n_cam, replace=False))
        counts = 1 + rng.multinomial(n_img - n_cam, rng.dirichlet(np.full(n_cam, 2.0)))
        for cam_i, count in zip(cams.tolist(), counts.tolist()):
            cam = cameras[cam_i]
            heading = cam.headings[int(rng.integers(len(cam.headings)))]
            yaw0 = heading + rng.uniform(-cam.yaw_spread, cam.yaw_spread)
            drift = rng.uniform(-4.0, 4.0)
            step = int(rng.integers(3, 16))
            start = int(rng.integers(1, 99_000_000))
            query_k = int(rng.integers(count)) if split == "test" else -1
            for k in range(count):
                yaw = round(float((yaw0 + k * drift + 180.0) % 360.0 - 180.0), 3)
                rows.append((image_name(pid, cam.index, start + k * step), pid, cam.index,
                             start + k * step, yaw, split, k == query_k))
    rows.sort()
    jobs = [ImageJob(i, *row) for i, row in enumerate(rows)]
    return identities, jobs
