"""3-D vehicle bodies, one shape per VeRi type, in metres: ``x`` forward, ``y`` to the vehicle's
left, ``z`` up, origin on the ground under the body's centre.

A car-like body is a lower volume (bumpers, hood, trunk) plus a cabin with sloped windshield and
rear window; a pickup's trunk lid is an open bed, a bus is one tall volume, a truck is a chassis
carrying a cab and a cargo box. Wheels are dark prisms; the face details (grille, lights, plates,
windows, door lines, wheel discs) are flat polygons on the faces.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vreid_lite.data.synthetic.geometry import (
    DOMINANT, FRONT, REAR, Face, Solid, box, circle, on_side, prism,
)

TIRE = (32, 32, 34)
GLASS = (62, 52, 45)
DARK = (42, 42, 44)
TRIM = (70, 70, 72)
CHROME = (175, 175, 178)
HEADLIGHT = (225, 238, 245)
TAILLIGHT = (40, 40, 205)
PLATE = (215, 220, 222)
SIGN = (40, 160, 245)

CAR_LABELS = {"nose": FRONT, "windshield": FRONT, "tail": REAR, "rear_window": REAR,
              "hood": DOMINANT, "shoulder": DOMINANT, "trunk": DOMINANT, "roof": DOMINANT}
"""Faces whose normal does not say which part they belong to: the windshield belongs to the
front, the rear window to the rear; flat tops (hood, trunk lid, roof) to whatever view dominates,
since a camera looking down sees them from every side."""

# name: length, width, body bottom / belt / roof heights, nose drop & length, tail drop & length,
# cabin x at windshield base / top and rear-window top / base, cabin width share, wheel radius,
# front / rear axle x, window bottom share of cabin height, pillar x, door line x.
CAR_SPECS = {
    "sedan": dict(L=4.7, W=1.8, zb=0.30, zt=0.92, zr=1.42, nd=0.12, bf=0.25, ndr=0.08, br=0.20,
                  cfb=0.95, cft=0.05, crt=-0.95, crb=-1.55, cw=0.90, r=0.32, axles=(1.45, -1.35),
                  win=0.08, pillars=(-0.45,), doors=(0.9, -0.4, -1.45)),
    "hatchback": dict(L=4.0, W=1.75, zb=0.30, zt=0.90, zr=1.45, nd=0.10, bf=0.22, ndr=0.04, br=0.08,
                      cfb=0.80, cft=-0.10, crt=-1.65, crb=-1.92, cw=0.90, r=0.30, axles=(1.25, -1.3),
                      win=0.08, pillars=(-0.55,), doors=(0.75, -0.5, -1.5)),
    "estate": dict(L=4.8, W=1.8, zb=0.30, zt=0.92, zr=1.45, nd=0.12, bf=0.25, ndr=0.05, br=0.08,
                   cfb=0.95, cft=0.05, crt=-2.18, crb=-2.32, cw=0.90, r=0.32, axles=(1.5, -1.4),
                   win=0.08, pillars=(-0.45, -1.55), doors=(0.9, -0.4, -1.5)),
    "suv": dict(L=4.7, W=1.9, zb=0.42, zt=1.12, zr=1.80, nd=0.15, bf=0.18, ndr=0.05, br=0.05,
                cfb=1.00, cft=0.25, crt=-2.18, crb=-2.30, cw=0.92, r=0.38, axles=(1.45, -1.4),
                win=0.06, pillars=(-0.35, -1.45), doors=(0.95, -0.3, -1.45)),
    "mpv": dict(L=4.8, W=1.85, zb=0.30, zt=0.95, zr=1.72, nd=0.10, bf=0.25, ndr=0.05, br=0.06,
                cfb=1.45, cft=0.20, crt=-2.25, crb=-2.34, cw=0.92, r=0.32, axles=(1.5, -1.5),
                win=0.06, pillars=(-0.3, -1.45), doors=(1.2, -0.3, -1.5)),
    "van": dict(L=5.0, W=1.95, zb=0.35, zt=1.05, zr=2.25, nd=0.10, bf=0.15, ndr=0.0, br=0.0,
                cfb=1.75, cft=1.15, crt=-2.5, crb=-2.5, cw=0.98, r=0.34, axles=(1.6, -1.65),
                win=0.22, pillars=(0.35, -1.0), doors=(1.65, 0.3, -2.35)),
    "pickup": dict(L=5.3, W=1.9, zb=0.45, zt=1.10, zr=1.85, nd=0.12, bf=0.20, ndr=0.03, br=0.04,
                   cfb=1.05, cft=0.40, crt=-0.50, crb=-0.55, cw=0.94, r=0.38, axles=(1.7, -1.6),
                   win=0.06, pillars=(0.2,), doors=(1.0, 0.2, -0.5)),
    "bus": dict(L=11.0, W=2.5, zb=0.35, zt=1.15, zr=3.10, nd=0.0, bf=0.0, ndr=0.0, br=0.0,
                cfb=5.5, cft=5.32, crt=-5.46, crb=-5.5, cw=1.0, r=0.50, axles=(3.6, -3.0),
                win=0.05, pillars=tuple(np.arange(3.6, -5.2, -1.25)), doors=(4.3, 5.35)),
}


@dataclass
class Body:
    """Solids of one vehicle plus the faces identity marks attach to."""

    solids: list[Solid]
    anchors: dict[str, list[Face]]   # windshield / hood / rear / sides
    roof: tuple[float, float, float, float]  # x_rear, x_front, half width, height of the roof
    footprint: tuple[float, float, float]    # x_rear, x_front, half width


def _cabin_window(s: dict, z: float, inset: float) -> tuple[float, float]:
    """Rear and front x of the cabin glass at height ``z`` (the slanted edges moved in)."""
    t = (z - s["zt"]) / (s["zr"] - s["zt"])
    return (s["crb"] + t * (s["crt"] - s["crb"]) + inset, s["cfb"] + t * (s["cft"] - s["cfb"]) - inset)


def _front_details(face: Face, bus: bool = False) -> None:
    face.add(face.rect(0.0, 1.0, 0.0, 0.2), DARK)                      # bumper
    face.add(face.rect(0.3, 0.7, 0.35, 0.85), DARK)                    # grille
    face.add(face.rect(0.35, 0.65, 0.45, 0.75), TRIM)
    for u0, u1 in ((0.04, 0.24), (0.76, 0.96)):
        face.add(face.rect(u0, u1, 0.3 if bus else 0.55, 0.5 if bus else 0.9), HEADLIGHT, emissive=True)
    face.add(face.rect(0.41, 0.59, 0.05, 0.28), PLATE)


def _rear_details(face: Face, lights_v: tuple[float, float] = (0.55, 0.9)) -> None:
    face.add(face.rect(0.0, 1.0, 0.0, 0.18), DARK)                     # bumper
    for u0, u1 in ((0.03, 0.2), (0.8, 0.97)):
        face.add(face.rect(u0, u1, *lights_v), TAILLIGHT, emissive=True)
    face.add(face.rect(0.4, 0.6, 0.22, 0.48), PLATE)


def _glass(face: Face, v1: float = 0.92) -> None:
    face.add(face.rect(0.06, 0.94, 0.07, v1), GLASS)


def _side_details(face: Face, s: dict, paint) -> None:
    zb, zt, r = s["zb"], s["zt"], s["r"]
    face.add(on_side(face, [(-s["L"] / 2, zb), (s["L"] / 2, zb), (s["L"] / 2, zb + 0.07),
                            (-s["L"] / 2, zb + 0.07)]), DARK)           # sill
    for x in s["doors"]:
        face.add(on_side(face, [(x - 0.015, zb + 0.08), (x + 0.015, zb + 0.08),
                                (x + 0.015, zt - 0.03), (x - 0.015, zt - 0.03)]), DARK)
    for x in s["doors"][:-1]:
        hx = x - 0.35
        face.add(on_side(face, [(hx - 0.09, zt - 0.16), (hx + 0.09, zt - 0.16), (hx + 0.09, zt - 0.12),
                                (hx - 0.09, zt - 0.12)]), TRIM)
    for ax in s["axles"]:
        wheel_disc(face, ax, r)


def wheel_disc(face: Face, x: float, r: float) -> None:
    """Arch, tyre, rim and hub of a wheel seen on a side face."""
    t = np.linspace(0.0, np.pi, 9)
    face.add(on_side(face, np.column_stack([x + 1.15 * r * np.cos(t), r + 1.15 * r * np.sin(t)])), (22, 22, 24))
    face.add(on_side(face, circle(x, r, r)), TIRE)
    face.add(on_side(face, circle(x, r, 0.6 * r)), CHROME)
    face.add(on_side(face, circle(x, r, 0.22 * r, 8)), TRIM)


def wheels(axles, r: float, W: float, track: float = 0.24) -> list[Solid]:
    """Lower halves of the tyres: the upper halves sit inside the arches, hidden by the body
    from every camera that looks down (a side face draws the whole wheel as a disc)."""
    t = np.linspace(np.pi, 2.0 * np.pi, 5)
    out = []
    for x in axles:
        profile = np.column_stack([x + r * np.cos(t), r + r * np.sin(t)]).tolist()
        for sign in (1.0, -1.0):
            y_out = sign * (W / 2 - 0.02)
            y_in = sign * (W / 2 - 0.02 - track)
            solid = prism(profile, min(y_in, y_out), max(y_in, y_out), TIRE, 0,
                          ["tread"] * 4 + [None], side_role="cap")
            solid.faces = [f for f in solid.faces
                           if not f.role.startswith("cap") or np.sign(f.normal[1]) == sign]
            out.append(solid)
    return out


def mirrors(x: float, z: float, half_w: float, paint) -> list[Solid]:
    """Door mirrors: small boxes (their tops and inner sides are never worth drawing)."""
    out = []
    for sign in (1.0, -1.0):
        y0, y1 = sorted((sign * half_w, sign * (half_w + 0.18)))
        faces = [f for f in box(x - 0.1, x + 0.02, y0, y1, z, z + 0.14, paint, 2, "mirror").faces
                 if f.role != "mirror_top" and not (f.role.startswith("mirror_side") and f.normal[1] * sign < 0)]
        out.append(Solid(faces, layer=1.5, near_layer=2.5))
    return out


def car_body(type_name: str, paint) -> Body:
    s = CAR_SPECS[type_name]
    L, W, zb, zt, zr = s["L"], s["W"], s["zb"], s["zt"], s["zr"]
    xf, xr = L / 2, -L / 2
    lower = prism([(xr, zb), (xf, zb), (xf, zt - s["nd"]), (xf - s["bf"], zt), (s["cfb"], zt),
                   (s["crb"], zt), (xr + s["br"], zt), (xr, zt - s["ndr"])], -W / 2, W / 2, paint, 1,
                  [None, "front_face", "nose", "hood", "shoulder", "trunk", "tail", "rear_face"],
                  CAR_LABELS, side_role="side")
    cw = s["cw"] * W / 2
    cabin = prism([(s["crb"], zt), (s["cfb"], zt), (s["cft"], zr), (s["crt"], zr)], -cw, cw, paint, 2,
                  [None, "windshield", "roof", "rear_window"], CAR_LABELS, side_role="cabin")
    _front_details(lower.face("front_face"))
    rear = lower.face("rear_face")
    _rear_details(rear)
    for f in lower.faces_with("side_left") + lower.faces_with("side_right"):
        _side_details(f, s, paint)
    _glass(cabin.face("windshield"))
    if "rear_window" in [f.role for f in cabin.faces]:
        _glass(cabin.face("rear_window"), 0.9)
    z0 = zt + s["win"] * (zr - zt)
    z1 = zr - 0.07 * (zr - zt)
    for f in cabin.faces_with("cabin_left") + cabin.faces_with("cabin_right"):
        (a0, b0), (a1, b1) = _cabin_window(s, z0, 0.1), _cabin_window(s, z1, 0.1)
        f.add(on_side(f, [(a0, z0), (b0, z0), (b1, z1), (a1, z1)]), GLASS)
        for x in s["pillars"]:
            f.add(on_side(f, [(x - 0.06, z0), (x + 0.06, z0), (x + 0.06, z1), (x - 0.06, z1)]), paint)
    if type_name == "pickup":
        lower.face("trunk").add(lower.face("trunk").rect(0.07, 0.93, 0.03, 0.96), (30, 30, 32))
    if type_name == "bus":
        ws = cabin.face("windshield")
        ws.details.clear()
        ws.add(ws.rect(0.04, 0.96, 0.05, 0.8), GLASS)
        ws.add(ws.rect(0.2, 0.8, 0.84, 0.95), SIGN, emissive=True)
    solids = [lower, cabin, *wheels(s["axles"], s["r"], W)]
    if type_name != "bus":
        solids += mirrors(s["cfb"] - 0.05, zt + 0.02, cw, paint)
    sides = lower.faces_with("side_left") + lower.faces_with("side_right")
    return Body(solids, {"windshield": [cabin.face("windshield")], "hood": lower.faces_with("hood"),
                         "rear": [rear], "sides": sides},
                roof=(s["crt"], s["cft"], cw, zr), footprint=(xr, xf, W / 2))


def truck_body(paint) -> Body:
    L, W, r = 7.5, 2.4, 0.5
    xf, xr = L / 2, -L / 2
    cab = prism([(1.55, 0.55), (xf, 0.55), (xf, 1.9), (xf - 0.2, 2.95), (1.55, 2.95)], -W / 2, W / 2,
                paint, 2, [None, "front_face", "windshield", "roof", "cab_back"],
                {"windshield": FRONT, "roof": DOMINANT}, side_role="cab")
    cargo = box(xr, 1.42, -W / 2, W / 2, 1.0, 3.3, paint, 2, "cargo")
    chassis = box(xr, 1.55, -W / 2 + 0.05, W / 2 - 0.05, 0.55, 1.0, DARK, 1, "chassis")
    front = cab.face("front_face")
    front.add(front.rect(0.0, 1.0, 0.0, 0.15), DARK)
    front.add(front.rect(0.22, 0.78, 0.3, 0.75), DARK)
    for u0, u1 in ((0.04, 0.2), (0.8, 0.96)):
        front.add(front.rect(u0, u1, 0.2, 0.4), HEADLIGHT, emissive=True)
    front.add(front.rect(0.42, 0.58, 0.17, 0.3), PLATE)
    _glass(cab.face("windshield"), 0.9)
    for f in cab.faces_with("cab_left") + cab.faces_with("cab_right"):
        f.add(on_side(f, [(1.75, 1.95), (3.45, 1.95), (3.4, 2.75), (1.75, 2.75)]), GLASS)
        f.add(on_side(f, [(1.62, 0.6), (1.66, 0.6), (1.66, 2.85), (1.62, 2.85)]), DARK)
        wheel_disc(f, 2.7, r)
    back = cargo.face("cargo_rear")
    back.add(back.rect(0.49, 0.51, 0.0, 1.0), DARK)
    for u in (0.42, 0.55):
        back.add(back.rect(u, u + 0.03, 0.35, 0.55), TRIM)
    _rear_details(chassis.face("chassis_rear"), (0.45, 0.85))
    sides = cargo.faces_with("cargo_side_left") + cargo.faces_with("cargo_side_right")
    for f in chassis.faces_with("chassis_side_left") + chassis.faces_with("chassis_side_right"):
        for ax in (-1.6, -2.75):
            wheel_disc(f, ax, r)
    solids = [chassis, cab, cargo, *wheels((2.7, -1.6, -2.75), r, W, 0.35),
              *mirrors(xf - 0.25, 2.1, W / 2, DARK)]
    return Body(solids, {"windshield": [cab.face("windshield")], "hood": [],
                         "rear": [back], "sides": sides},
                roof=(1.7, xf - 0.3, W / 2, 2.95), footprint=(xr, xf, W / 2))


def build_body(type_name: str, paint) -> Body:
    """The body of a VeRi type (``vreid_lite.data.synthetic.palette.TYPE_NAMES``) in BGR ``paint``."""
    if type_name == "truck":
        return truck_body(paint)
    if type_name not in CAR_SPECS:
        raise ValueError(f"unknown vehicle type {type_name!r}; expected one of {sorted(CAR_SPECS) + ['truck']}")
    return car_body(type_name, paint)
