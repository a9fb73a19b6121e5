"""Camera styles (c001, c002, …): what a camera sees of the road, its light, blur, framing and
compression, and which way traffic passes it.

Every camera watches a road: vehicles pass in one or both directions, so its yaws gather around
one or two headings (spread by the road's curve and lane changes). A style is drawn once per
(seed, camera) and its background texture once per process; images take random crops of it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

GOLDEN_ANGLE = 137.508  # spreads camera headings evenly around the circle, whatever their count
ALONG_ROAD = 0.5
"""Most traffic cameras look along the road: headings are bunched towards 0° and 180° (density
``1 / (1 - ALONG_ROAD·cos 2h)``), so front and rear views are as common as a side view."""


@dataclass(frozen=True)
class CameraStyle:
    index: int                         # 1-based: c001 …
    headings: tuple[float, ...]        # yaw centres in degrees (one per traffic direction)
    yaw_spread: float                  # ± degrees around a heading
    elevation: float                   # degrees the camera looks down
    light_azimuth: float               # sun azimuth relative to the camera, degrees
    light_elevation: float
    gain: float                        # brightness
    contrast: float
    tint: tuple[float, float, float]   # BGR channel gains
    blur: float                        # Gaussian sigma in pixels at a 128-pixel image
    fill: float                        # share of the image's long side the vehicle spans
    size: int                          # typical long side of an image, pixels
    jpeg_quality: int
    clutter: int                       # rectangles and lines in the background
    road: tuple[int, int, int]         # BGR asphalt colour


def make_cameras(seed: int, count: int, size_range: tuple[int, int],
                 elevation_range: tuple[float, float]) -> list[CameraStyle]:
    """``count`` camera styles, each drawn from ``(seed, camera number)`` alone."""
    return [_style(np.random.default_rng([seed, 2, c]), c, size_range, elevation_range)
            for c in range(1, count + 1)]


SCENE_INDEX_BASE = 1000
"""Scenes are numbered from here (cameras stop at 999), so their textures draw other numbers."""


def make_scenes(seed: int, count: int, size_range: tuple[int, int],
                elevation_range: tuple[float, float]) -> list[CameraStyle]:
    """``count`` road scenes shared by every camera (recipe key ``scenes``): only their road
    colour, clutter and texture are used, so a background says nothing about the camera."""
    return [_style(np.random.default_rng([seed, 4, s]), SCENE_INDEX_BASE + s, size_range,
                   elevation_range) for s in range(count)]


def _style(rng: np.random.Generator, index: int, size_range: tuple[int, int],
           elevation_range: tuple[float, float]) -> CameraStyle:
    u = math.radians(index * GOLDEN_ANGLE + rng.uniform(-15, 15))
    heading = math.degrees(u - ALONG_ROAD / 2.0 * math.sin(2.0 * u)) % 360.0
    headings = (heading, (heading + 180.0) % 360.0) if rng.random() < 0.5 else (heading,)
    grey = rng.uniform(70, 150)
    return CameraStyle(
        index=index,
        headings=tuple(round(h, 3) for h in headings),
        yaw_spread=float(rng.uniform(15, 40)),
        elevation=float(rng.uniform(*elevation_range)),
        light_azimuth=float(rng.uniform(-150, 150)),
        light_elevation=float(rng.uniform(25, 70)),
        gain=float(rng.uniform(0.7, 1.25)),
        contrast=float(rng.uniform(0.75, 1.15)),
        tint=tuple(float(t) for t in rng.uniform(0.88, 1.12, size=3)),
        blur=float(rng.choice([0.0, 0.0, 0.5, 0.8, 1.2])),
        fill=float(rng.uniform(0.78, 0.95)),
        size=int(rng.integers(size_range[0], size_range[1] + 1)),
        jpeg_quality=int(rng.integers(55, 96)),
        clutter=int(rng.integers(2, 30)),
        road=tuple(int(np.clip(grey + d, 0, 255)) for d in rng.uniform(-12, 12, size=3)),
    )


def make_background(style: CameraStyle, seed: int, side: int) -> np.ndarray:
    """A ``side``×``side`` BGR road texture: asphalt with low-frequency blotches and grain, lane
    markings along the camera's road direction, and ``style.clutter`` rectangles and lines."""
    rng = np.random.default_rng([seed, 3, style.index])
    coarse = rng.normal(0.0, 14.0, size=(6, 6, 1)).astype(np.float32)
    blotches = cv2.resize(coarse, (side, side), interpolation=cv2.INTER_CUBIC)[..., None]
    grain = rng.normal(0.0, 6.0, size=(side, side, 1)).astype(np.float32)
    img = np.asarray(style.road, np.float32)[None, None, :] + blotches + grain
    img = np.clip(img, 0, 255).astype(np.uint8)

    angle = np.deg2rad(rng.uniform(-35, 35))
    direction = np.array([np.sin(angle), np.cos(angle)])
    normal = np.array([direction[1], -direction[0]])
    lane_color = (210, 210, 210) if rng.random() < 0.7 else (40, 190, 225)
    width = max(1, side // 90)
    for offset in rng.uniform(-0.6, 0.6, size=int(rng.integers(1, 4))) * side:
        center = np.array([side / 2, side / 2]) + offset * normal
        dashed = rng.random() < 0.6
        for t in np.arange(-side, side, side / 6 if dashed else side * 2):
            a = center + t * direction
            b = center + (t + (side / 10 if dashed else side * 2)) * direction
            cv2.line(img, tuple(int(x) for x in a), tuple(int(x) for x in b), lane_color, width, cv2.LINE_AA)

    for _ in range(style.clutter):
        color = tuple(int(x) for x in rng.integers(20, 235, size=3))
        if rng.random() < 0.6:
            x0, y0 = rng.integers(0, side, size=2)
            w, h = rng.integers(side // 20, side // 4, size=2)
            cv2.rectangle(img, (int(x0), int(y0)), (int(x0 + w), int(y0 + h)), color, -1)
        else:
            a, b = rng.integers(0, side, size=(2, 2))
            cv2.line(img, tuple(int(x) for x in a), tuple(int(x) for x in b), color,
                     int(rng.integers(1, max(2, side // 40))), cv2.LINE_AA)
    return cv2.GaussianBlur(img, (0, 0), 0.8)


GAIN_STEPS = tuple(np.linspace(0.92, 1.08, 9).tolist())
"""Per-image brightness jitter around the camera's gain (clouds, exposure control)."""


def light_tables(style: CameraStyle) -> list[np.ndarray]:
    """One 256×1×3 ``cv2.LUT`` table per gain step: contrast about mid-grey, then gain and tint."""
    x = np.arange(256, dtype=np.float64)[:, None]
    base = (x - 128.0) * style.contrast + 128.0
    return [np.clip(np.rint(base * (np.asarray(style.tint) * style.gain * g)), 0, 255)
            .astype(np.uint8).reshape(256, 1, 3) for g in GAIN_STEPS]
