"""One synthetic image: frame the vehicle at its camera's yaw and elevation, draw it on a crop of
the camera's background, apply the camera's light and blur, encode JPEG + part-mask PNG.

Everything random about an image comes from ``(seed, image index)``, so an image is the same
whichever process renders it and in whatever order.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from vreid_lite.data.synthetic.body import build_body
from vreid_lite.data.synthetic.cameras import (GAIN_STEPS, CameraStyle, light_tables, make_background,
                                               make_scenes)
from vreid_lite.data.synthetic.draw import Model, paint, screen_axes, view_vector
from vreid_lite.data.synthetic.identities import Identity, ImageJob
from vreid_lite.data.synthetic.marks import attach_marks
from vreid_lite.data.synthetic.mask_png import encode_mask_png
from vreid_lite.data.synthetic.palette import COLOR_BGR, COLOR_NAMES, TYPE_NAMES
from vreid_lite.data.synthetic.viewpoints import view_from_yaw


@dataclass
class RenderedImage:
    jpeg: bytes
    mask_png: bytes
    view: str
    marks: list[dict[str, Any]]      # [{"kind": …, "box": [x0, y0, x1, y1]}] in pixels, x1/y1 exclusive
    size: tuple[int, int]            # (width, height)


class Renderer:
    """Renders the images of one plan; caches compiled bodies and background textures."""

    def __init__(self, recipe: dict[str, Any], seed: int, cameras: list[CameraStyle],
                 identities: list[Identity]):
        self.seed = seed
        self.size_range = recipe["image_size"]
        self.cameras = {c.index: c for c in cameras}
        self.identities = {i.pid: i for i in identities}
        self._models: dict[int, Model] = {}
        self._backgrounds: dict[int, np.ndarray] = {}
        self.scenes = make_scenes(seed, recipe["scenes"], tuple(recipe["image_size"]),
                                  tuple(recipe["elevation"]))
        self._styles = {s.index: s for s in [*cameras, *self.scenes]}
        self._shadow = {i: tuple(0.45 * x for x in s.road) for i, s in self._styles.items()}
        self._light = {c.index: light_tables(c) for c in cameras}

    def model(self, pid: int) -> Model:
        if pid not in self._models:
            ident = self.identities[pid]
            body = build_body(TYPE_NAMES[ident.vtype], COLOR_BGR[COLOR_NAMES[ident.color]])
            self._models[pid] = Model(attach_marks(body, ident.marks))
        return self._models[pid]

    def background(self, style: int) -> np.ndarray:
        """The road texture of camera or scene number ``style``."""
        if style not in self._backgrounds:
            side = 2 * self.size_range[1]
            self._backgrounds[style] = make_background(self._styles[style], self.seed, side)
        return self._backgrounds[style]

    def scene_of(self, job: ImageJob) -> int:
        """The camera's own scene, or (recipe ``scenes`` > 0) one of the shared scenes drawn for
        this image from its own stream, so the rest of the image's randomness is unchanged."""
        if not self.scenes:
            return job.camera
        pick = np.random.default_rng([self.seed, 5, job.index]).integers(len(self.scenes))
        return self.scenes[int(pick)].index

    def render(self, job: ImageJob) -> RenderedImage:
        rng = random.Random(self.seed * 1_000_000_007 + job.index)
        uniform = rng.uniform
        cam = self.cameras[job.camera]
        model = self.model(job.pid)
        elev = min(max(cam.elevation + uniform(-2.0, 2.0), 2.0), 70.0)
        proj = model.points @ screen_axes(job.yaw, elev)
        body = proj[:model.n_body_points]
        lo = body.min(axis=0)
        extent = body.max(axis=0) - lo

        long_side = min(max(round(cam.size * uniform(0.9, 1.1)), self.size_range[0]), self.size_range[1])
        fill = min(0.97, cam.fill * uniform(0.94, 1.04))
        scale = long_side * fill / float(extent.max())
        pad = long_side * (1.0 - fill)
        w, h = (max(int(round(e * scale + pad)), long_side // 2) for e in extent.tolist())
        slack = np.array([w, h]) - extent * scale
        offset = slack / 2.0 * np.array([1.0 + uniform(-0.5, 0.5), 1.0 + uniform(-0.5, 0.5)])
        pix = (proj - lo) * scale + offset

        scene = self.scene_of(job)
        texture = self.background(scene)
        x0 = int(rng.random() * (texture.shape[1] - w + 1))
        y0 = int(rng.random() * (texture.shape[0] - h + 1))
        image = texture[y0:y0 + h, x0:x0 + w].copy()
        mask = np.zeros((h, w), np.uint8)
        v = view_vector(job.yaw, elev)
        light = view_vector(job.yaw + cam.light_azimuth, cam.light_elevation)
        boxes = paint(model, image, mask, pix, scale, v, light, self._shadow[scene])

        image = cv2.LUT(image, self._light[job.camera][int(rng.random() * len(GAIN_STEPS))])
        sigma = cam.blur * long_side / 128.0
        if sigma > 0.3:
            k = 2 * math.ceil(2.0 * sigma) + 1
            image = cv2.GaussianBlur(image, (k, k), sigma)
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, cam.jpeg_quality])
        if not ok:
            raise RuntimeError(f"OpenCV could not encode {job.name}")
        marks = [{"kind": kind, "box": box} for kind, box in sorted(boxes.items())]
        return RenderedImage(jpeg.tobytes(), encode_mask_png(mask), view_from_yaw(job.yaw), marks, (w, h))
