"""Lens openings found in the geometry, for models whose part names and materials do not say
which parts are the lenses (an OBJ without its ``.mtl`` arrives as one mesh named after its first
object).

The front is seen from the front: every connected piece of the mesh inside the front slab is drawn
as a silhouette on a 0.25 mm grid. A piece that is a filled plate the size of a lens (no hole, at
least 15 mm each way, filling most of its box) is a *lens body*; everything else is the frame. The
lens openings are the two largest holes of the frame's silhouette, one either side of the bridge,
about mirror images of each other. Lens bodies inside an opening are the lenses. A frame without a
rim around its lenses (rimless) has no holes: then a mirrored pair of lens bodies is taken as the
openings themselves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import numpy as np
import trimesh

log = logging.getLogger(__name__)

#: Grid of the front-view silhouettes, mm per pixel.
PIXEL_MM = 0.25
#: Smallest lens opening, mm² (a 25 x 15 mm child's lens is about 300 mm²).
MIN_OPENING_MM2 = 250.0
#: Smallest lens body each way, mm.
MIN_LENS_SIDE_MM = 15.0
#: A lens body fills at least this much of its bounding box (an oval fills π/4 ≈ 0.79).
MIN_LENS_FILL = 0.55


@dataclass
class Opening:
    """One lens opening in frame axes (mm): bounding box ``[[x0, y0], [x1, y1]]`` and area."""

    box: np.ndarray
    area_mm2: float

    @property
    def centre(self) -> np.ndarray:
        """The boxing centre (x, y): the middle of the opening's box."""
        return self.box.mean(axis=0)

    @property
    def width(self) -> float:
        return float(self.box[1, 0] - self.box[0, 0])

    @property
    def height(self) -> float:
        return float(self.box[1, 1] - self.box[0, 1])


@dataclass
class Openings:
    """The two lens openings (wearer's ``left`` at +x, ``right``) and, per part name, the faces of
    the lens bodies found inside them."""

    left: Opening
    right: Opening
    lens_faces: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def bridge(self) -> float:
        """The gap between the openings, mm (the boxing bridge)."""
        return float(self.left.box[0, 0] - self.right.box[1, 0])


@dataclass
class _Piece:
    """A connected piece of one part inside the front slab, and its silhouette."""

    part: str
    faces: np.ndarray
    mask: np.ndarray
    lens_body: bool


def connected_pieces(mesh: trimesh.Trimesh) -> list[np.ndarray]:
    """Face indices of each connected piece of ``mesh``, vertices joined by position (a file that
    splits vertices along seams or per triangle still yields whole pieces)."""
    welded = trimesh.Trimesh(vertices=mesh.vertices, faces=mesh.faces, process=False)
    welded.merge_vertices(merge_tex=True, merge_norm=True)
    labels = trimesh.graph.connected_component_labels(welded.face_adjacency, node_count=len(welded.faces))
    return [np.flatnonzero(labels == k) for k in np.unique(labels)]


def _holes(mask: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """``(pixel mask, area px)`` of each region of background that the silhouette encloses."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats((mask == 0).astype(np.uint8), connectivity=4)
    h, w = mask.shape
    out = []
    for k in range(1, count):
        x, y, bw, bh, area = stats[k]
        if x == 0 or y == 0 or x + bw >= w or y + bh >= h:
            continue  # touches the border: outside the frame, not a hole
        out.append((labels == k, int(area)))
    return out


def find_openings(meshes: dict[str, trimesh.Trimesh], slab_mm: float) -> Openings | None:
    """The lens openings of a model in frame axes and mm (front at +z), or ``None`` when the
    geometry shows none (e.g. a solid front, or lenses welded to the rim)."""
    allv = np.vstack([m.vertices for m in meshes.values()])
    z_min = float(allv[:, 2].max()) - slab_mm
    slab = allv[allv[:, 2] > z_min]
    lo = slab[:, :2].min(axis=0) - 2.0
    hi = slab[:, :2].max(axis=0) + 2.0
    size = np.ceil((hi - lo) / PIXEL_MM).astype(int) + 1
    if size.prod() > 4_000_000:  # not a pair of glasses in mm: leave it to the fallbacks
        return None
    cx = float((slab[:, 0].min() + slab[:, 0].max()) / 2.0)

    def silhouette(mesh: trimesh.Trimesh, faces: np.ndarray) -> np.ndarray:
        tri = mesh.vertices[mesh.faces[faces]]
        tri = tri[(tri[:, :, 2] > z_min).all(axis=1)]
        mask = np.zeros((size[1], size[0]), np.uint8)
        for corners in np.round((tri[:, :, :2] - lo) / PIXEL_MM).astype(np.int32):
            cv2.fillConvexPoly(mask, corners, 1)
        return mask

    pieces: list[_Piece] = []
    for name, mesh in meshes.items():
        for faces in connected_pieces(mesh):
            mask = silhouette(mesh, faces)
            area = int(mask.sum())
            if area == 0:
                continue
            ys, xs = np.nonzero(mask)
            bw, bh = (np.ptp(xs) + 1) * PIXEL_MM, (np.ptp(ys) + 1) * PIXEL_MM
            fill = area * PIXEL_MM**2 / (bw * bh)
            plate = (
                area * PIXEL_MM**2 >= MIN_OPENING_MM2
                and min(bw, bh) >= MIN_LENS_SIDE_MM
                and fill >= MIN_LENS_FILL
                and not _holes(mask)
                and abs(float(xs.mean()) * PIXEL_MM + lo[0] - cx) > MIN_LENS_SIDE_MM / 2
            )
            pieces.append(_Piece(name, faces, mask, plate))

    frame = np.zeros((size[1], size[0]), np.uint8)
    for piece in pieces:
        if not piece.lens_body:
            frame |= piece.mask
    frame = cv2.morphologyEx(frame, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))  # hairline cracks
    holes = [(m, a) for m, a in _holes(frame) if a * PIXEL_MM**2 >= MIN_OPENING_MM2]
    pair = _mirrored_pair([m for m, _ in holes], lo, cx)
    if pair is None:  # rimless: the lens bodies themselves
        pair = _mirrored_pair([p.mask.astype(bool) for p in pieces if p.lens_body], lo, cx)
        if pair is None:
            return None
    left_mask, right_mask = pair
    openings = Openings(_opening(left_mask, lo), _opening(right_mask, lo))
    for piece in pieces:
        if piece.lens_body:
            inside = (left_mask | right_mask)[piece.mask > 0].mean()
            if inside > 0.8:
                previous = openings.lens_faces.get(piece.part, np.zeros(0, dtype=np.int64))
                openings.lens_faces[piece.part] = np.concatenate([previous, piece.faces])
    log.debug(
        "lens openings %.1f x %.1f mm and %.1f x %.1f mm, bridge %.1f mm, lens bodies in %s",
        openings.left.width,
        openings.left.height,
        openings.right.width,
        openings.right.height,
        openings.bridge,
        sorted(openings.lens_faces),
    )
    return openings


def _opening(mask: np.ndarray, lo: np.ndarray) -> Opening:
    ys, xs = np.nonzero(mask)
    box = np.array([[xs.min(), ys.min()], [xs.max() + 1, ys.max() + 1]], dtype=np.float64) * PIXEL_MM + lo
    return Opening(box=box, area_mm2=float(len(xs)) * PIXEL_MM**2)


def _mirrored_pair(
    masks: list[np.ndarray], lo: np.ndarray, cx: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """The largest region either side of ``cx`` if the two are about mirror images (areas within
    a factor 1.5, centres the same distance from ``cx`` within 25 %, heights overlapping)."""
    sides: dict[str, list[tuple[float, np.ndarray]]] = {"left": [], "right": []}
    for mask in masks:
        ys, xs = np.nonzero(mask)
        x = float(xs.mean()) * PIXEL_MM + lo[0]
        sides["left" if x > cx else "right"].append((float(len(xs)), mask))
    if not sides["left"] or not sides["right"]:
        return None
    (area_l, left), (area_r, right) = (max(sides[s], key=lambda t: t[0]) for s in ("left", "right"))
    if max(area_l, area_r) > 1.5 * min(area_l, area_r):
        return None
    a, b = _opening(left, lo), _opening(right, lo)
    dl, dr = a.centre[0] - cx, cx - b.centre[0]
    if min(dl, dr) <= 0 or abs(dl - dr) > 0.25 * max(dl, dr):
        return None
    if min(a.box[1, 1], b.box[1, 1]) <= max(a.box[0, 1], b.box[0, 1]):
        return None
    return left, right
