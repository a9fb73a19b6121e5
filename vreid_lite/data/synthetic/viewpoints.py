"""Viewpoint label of a rendered image from its yaw.

Yaw is the camera's azimuth around the vehicle: 0° looks at the front, 180° at the rear, ±90° at
a side. Folded to ``a = |yaw|`` in [0°, 180°], the bins are: front ``a < 25``, front_side
``25 ≤ a < 65``, side ``65 ≤ a ≤ 115``, rear_side ``115 < a ≤ 155``, rear ``a > 155``. The side
bin is the widest because a side view stays a side view over a wider turn (the long faces
dominate the image); front and rear are narrow because a few degrees already show a side.
"""
from __future__ import annotations

import math

BIN_EDGES = (25.0, 65.0, 115.0, 155.0)


def fold_yaw(yaw_deg: float) -> float:
    """``|yaw|`` wrapped into [0, 180]."""
    a = math.fmod(yaw_deg, 360.0)
    if a < 0:
        a += 360.0
    return 360.0 - a if a > 180.0 else a


def view_from_yaw(yaw_deg: float) -> str:
    """One of ``vreid_lite.data.VIEWS`` for a camera azimuth in degrees."""
    a = fold_yaw(yaw_deg)
    if a < BIN_EDGES[0]:
        return "front"
    if a < BIN_EDGES[1]:
        return "front_side"
    if a <= BIN_EDGES[2]:
        return "side"
    if a <= BIN_EDGES[3]:
        return "rear_side"
    return "rear"
