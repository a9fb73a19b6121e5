"""Projection and drawing of a body: orthographic camera at a yaw and an elevation, back-face
culling, painter's order over convex solids, Lambert shading from one light, and the part mask.

Painter's order: solids are drawn by layer (wheels, lower bodies, upper bodies, roof items), far
to near within a layer; a layer goes wholly before the next because upper volumes sit on lower
ones and a camera looking down never sees a lower volume in front of an upper one. Mirrors sit
between layers: a far-side mirror goes before the cabin hides it, a near-side one after. Inside a
convex solid the faces turned to the camera never overlap, so they need no order.

Part mask: every face drawn writes its label (front 1, rear 2, side 3); details do not change
it. A face is labelled by the direction it points to: front faces, the nose and the windshield
are front; rear faces, the tail and the rear window are rear; side faces are side. Flat tops
(hood, trunk lid, pickup bed, roofs, tops of roof items) are seen from every side by a camera
looking down, so they take the label of the view the camera mostly sees — front or rear when
``|cos yaw| ≥ |sin yaw|``, side otherwise: a front view's mask is all front, a rear view's all
rear.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from vreid_lite.data.synthetic.body import Body
from vreid_lite.data.synthetic.geometry import DOMINANT, FRONT, REAR, SIDE, Face

SHIFT = 4                 # fixed-point bits of polygon coordinates (sub-pixel accuracy)
AMBIENT, DIFFUSE = 0.5, 0.6
MARK_MIN_COS = 0.25
"""A mark counts as visible (and is drawn) when the cosine between its face's normal and the
direction to the camera is at least this: a sticker seen almost edge-on is a sliver no one could
recognise."""
MIN_AREA_PX = 0.5
"""Polygons whose projection covers less than this many pixels are not drawn (nor, for marks,
reported)."""


class Model:
    """A body flattened for fast drawing: every vertex in one array; polygons (faces first, then
    details) index it, and per solid a drawing plan lists its faces with their details."""

    def __init__(self, body: Body):
        pts, ranges, normals, colors, labels, emissive, marks = [], [], [], [], [], [], []
        n = 0

        def add(points, normal, color, label, glow, mark):
            nonlocal n
            pts.append(points)
            ranges.append((n, n + len(points)))
            n += len(points)
            normals.append(normal)
            colors.append(color)
            labels.append(label)
            emissive.append(glow)
            marks.append(mark)
            return len(ranges) - 1

        faces = [(si, f) for si, s in enumerate(body.solids) for f in merge_coplanar(s.faces)]
        face_ids = [add(f.points, f.normal, f.color, f.label, False, None) for _, f in faces]
        self.n_body_points = n
        detail_ids = [[add(d.points, f.normal, d.color, f.label, d.emissive, d.mark) for d in f.details]
                      for _, f in faces]
        xr, xf, hw = body.footprint
        pts.append(np.array([[xr - 0.15, -hw - 0.1, 0], [xf + 0.1, -hw - 0.1, 0],
                             [xf + 0.1, hw + 0.1, 0], [xr - 0.15, hw + 0.1, 0]]))
        self.shadow_range = (n, n + 4)
        self.points = np.concatenate(pts).astype(np.float64)
        self.n_faces = len(faces)
        self.normals = np.array(normals, dtype=np.float64)
        self.colors = np.array(colors, dtype=np.float64)
        self.labels = np.array(labels)
        self.area = _areas(self.points, ranges)
        self.emissive = np.array(emissive, dtype=bool)
        self.is_mark = np.array([m is not None for m in marks], dtype=bool)

        solids = body.solids
        self.mark_kinds = sorted({m for m in marks if m} | {s.mark for s in solids if s.mark})
        if len(self.mark_kinds) > 15:
            raise ValueError(f"at most 15 mark kinds fit the mask's upper bits, got {self.mark_kinds}")
        code = {k: 16 * (i + 1) for i, k in enumerate(self.mark_kinds)}
        self.solid_codes = [code.get(s.mark, 0) for s in solids]
        self.solid_layers = [(s.layer, s.layer if s.near_layer is None else s.near_layer) for s in solids]
        self.solid_centers = np.array([np.concatenate([f.points for f in s.faces]).mean(axis=0) for s in solids])
        self.solid_y = np.sign(self.solid_centers[:, 1])
        self.plan = [[] for _ in solids]
        for (si, _), fi, dids in zip(faces, face_ids, detail_ids):
            details = tuple((di, *ranges[di], code.get(marks[di], 0)) for di in dids)
            self.plan[si].append((fi, *ranges[fi], details))
        self.plan = [tuple(p) for p in self.plan]


def merge_coplanar(faces: list[Face]) -> list[Face]:
    """Faces of one convex solid that share a plane, a label and a colour, drawn as one polygon
    (their hull: in a convex solid such faces are adjacent). Fewer polygons, same picture."""
    groups: dict[tuple, list[Face]] = {}
    for f in faces:
        key = (*np.round(f.normal, 6).tolist(), round(float(f.normal @ f.points[0]), 6), f.label, f.color)
        groups.setdefault(key, []).append(f)
    out = []
    for f in faces:
        group = groups.pop((*np.round(f.normal, 6).tolist(), round(float(f.normal @ f.points[0]), 6),
                            f.label, f.color), None)
        if group is None:
            continue
        if len(group) == 1:
            out.append(f)
            continue
        pts = np.concatenate([g.points for g in group])
        a = np.cross(f.normal, [0.0, 0.0, 1.0] if abs(f.normal[2]) < 0.9 else [1.0, 0.0, 0.0])
        b = np.cross(f.normal, a)
        plane = np.column_stack([pts @ a, pts @ b]).astype(np.float32)
        hull = cv2.convexHull(plane, returnPoints=False).ravel()
        details = [d for g in group for d in g.details]
        out.append(Face(pts[hull], f.normal, f.color, f.label, "+".join(g.role for g in group), details))
    return out


def _areas(points: np.ndarray, ranges: list[tuple[int, int]]) -> np.ndarray:
    """Area of each planar polygon ``points[a:b]``: half the norm of the summed edge cross products."""
    if not ranges:
        return np.zeros(0)
    idx = np.array([i for a, b in ranges for i in range(a, b)])
    nxt = np.array([i for a, b in ranges for i in [*range(a + 1, b), a]])
    starts = np.cumsum([0] + [b - a for a, b in ranges[:-1]])
    sums = np.add.reduceat(np.cross(points[idx], points[nxt]), starts, axis=0)
    return 0.5 * np.linalg.norm(sums, axis=1)


def view_vector(yaw_deg: float, elev_deg: float) -> np.ndarray:
    """Unit vector from the vehicle towards the camera, in vehicle coordinates."""
    y, e = math.radians(yaw_deg), math.radians(elev_deg)
    return np.array([math.cos(e) * math.cos(y), math.cos(e) * math.sin(y), math.sin(e)])


def screen_axes(yaw_deg: float, elev_deg: float) -> np.ndarray:
    """3×2 matrix taking vehicle coordinates to screen (right, down) coordinates in metres for a
    camera at ``view_vector(yaw_deg, elev_deg)``."""
    y, e = math.radians(yaw_deg), math.radians(elev_deg)
    cy, sy, ce, se = math.cos(y), math.sin(y), math.cos(e), math.sin(e)
    # right = horizontal, perpendicular to the view; down = -(up), up = right × (-view)
    return np.array([[-sy, se * cy], [cy, se * sy], [0.0, -ce]])


def dominant_label(v: np.ndarray) -> int:
    if abs(v[0]) >= abs(v[1]):
        return FRONT if v[0] > 0 else REAR
    return SIDE


def paint(model: Model, image: np.ndarray, mask: np.ndarray, pix: np.ndarray, scale: float,
          v: np.ndarray, light: np.ndarray, shadow_color) -> dict[str, list[int]]:
    """Draw the model whose vertices sit at pixel positions ``pix`` (N×2, float; ``scale``
    pixels per metre) into ``image`` (BGR uint8) and ``mask`` (uint8 part labels).

    Returns, by kind, the box ``[x0, y0, x1, y1]`` (x1, y1 exclusive) of the pixels of each
    identity mark left visible once everything is drawn. While drawing, mark pixels carry
    ``16 × (kind number) + part label`` in the mask, so whatever is drawn over a mark later
    (a cabin over a hood decal, a wheel over a stripe) takes its pixels away.
    """
    fixed = np.rint(pix * (1 << SHIFT)).astype(np.int32)
    aa, line8, fill = cv2.LINE_AA, cv2.LINE_8, cv2.fillConvexPoly
    s0, s1 = model.shadow_range
    fill(image, fixed[s0:s1], shadow_color, aa, SHIFT)

    dots = model.normals @ v
    shade = np.where(model.emissive, 1.0, AMBIENT + DIFFUSE * np.maximum(model.normals @ light, 0.0))
    colors = np.minimum(model.colors * shade[:, None], 255.0).tolist()
    mark_face = dots >= MARK_MIN_COS
    drawn = ((model.area * dots * (scale * scale) >= MIN_AREA_PX) & (dots > 1e-6)
             & (mark_face | ~model.is_mark)).tolist()
    mark_face = mark_face.tolist()
    labels = model.labels[:model.n_faces]
    labels = np.where(labels == DOMINANT, dominant_label(v), labels).tolist()

    depth = (model.solid_centers @ v).tolist()
    near = (model.solid_y * v[1] > 0).tolist()
    layers = model.solid_layers
    order = sorted(range(len(layers)), key=lambda i: (layers[i][near[i]], depth[i]))
    codes_used = False
    for si in order:
        solid_code = model.solid_codes[si]
        faces = model.plan[si]
        if solid_code and not any(drawn[f[0]] and mark_face[f[0]] for f in faces):
            solid_code = 0
        for fi, a, b, details in faces:
            if not drawn[fi]:
                continue
            poly = fixed[a:b]
            label = labels[fi]
            fill(image, poly, colors[fi], aa, SHIFT)
            fill(mask, poly, label | solid_code, line8, SHIFT)
            marked = solid_code > 0
            codes_used = codes_used or marked
            for di, c, d, code in details:
                if drawn[di]:
                    poly = fixed[c:d]
                    fill(image, poly, colors[di], aa, SHIFT)
                    if code or marked:
                        fill(mask, poly, label | code, line8, SHIFT)
                        marked = codes_used = True
    marks: dict[str, list[int]] = {}
    if codes_used:
        ys, xs = np.nonzero(mask >= 16)
        kinds = mask[ys, xs] >> 4
        for k in np.unique(kinds).tolist():
            sel = kinds == k
            kx, ky = xs[sel], ys[sel]
            marks[model.mark_kinds[k - 1]] = [int(kx.min()), int(ky.min()), int(kx.max()) + 1, int(ky.max()) + 1]
        mask &= 15
    return marks
