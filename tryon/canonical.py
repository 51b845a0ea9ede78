"""MediaPipe's canonical face mesh, read from the model bundle, and the head occluder built on it.

The Face Landmarker bundle (``face_landmarker.task``, a zip) carries
``geometry_pipeline_metadata_landmarks.binarypb``: a ``GeometryPipelineMetadata`` protocol buffer
whose ``canonical_mesh`` (field 1, a ``Mesh3d``) holds the 468-vertex canonical face in centimetres
(vertex layout x, y, z, u, v; field 3 ``vertex_buffer``, field 4 ``index_buffer``), the space of the
facial transformation matrix. It is read with a minimal protocol-buffer wire decoder so the core does
not depend on generated protobuf classes.
"""

from __future__ import annotations

import functools
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

METADATA_NAME = "geometry_pipeline_metadata_landmarks.binarypb"
#: Canonical vertex of the face's side near the wearer's right ear (x < 0: 234; its mirror is 454).
SIDE_NEAR_EAR_RIGHT = 234


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> list[tuple[int, int, object]]:
    """Decode one message level into ``(field_number, wire_type, value)`` triples."""
    out: list[tuple[int, int, object]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire} in {METADATA_NAME}")
        out.append((number, wire, value))
    return out


@dataclass(frozen=True)
class CanonicalFace:
    """The canonical face mesh.

    vertices : (468, 3) float64, centimetres, y up, +z out of the face
    uv : (468, 2) float64 texture coordinates
    faces : (m, 3) int64 triangle indices
    """

    vertices: np.ndarray
    uv: np.ndarray
    faces: np.ndarray

    @property
    def mesh(self) -> trimesh.Trimesh:
        return trimesh.Trimesh(self.vertices, self.faces, process=False)


def parse_metadata(data: bytes) -> CanonicalFace:
    """Parse ``geometry_pipeline_metadata_landmarks.binarypb`` bytes."""
    meshes = [v for n, w, v in _fields(data) if n == 1 and w == 2]
    if not meshes:
        raise ValueError(f"{METADATA_NAME} has no canonical_mesh")
    floats: list[float] = []
    indices: list[int] = []
    for number, wire, value in _fields(meshes[0]):  # type: ignore[arg-type]
        if number == 3 and wire == 2:  # packed floats
            floats.extend(struct.unpack(f"<{len(value) // 4}f", value))  # type: ignore[arg-type]
        elif number == 3 and wire == 5:
            floats.append(struct.unpack("<f", value)[0])  # type: ignore[arg-type]
        elif number == 4 and wire == 2:  # packed varints
            buf, pos = value, 0
            while pos < len(buf):  # type: ignore[arg-type]
                idx, pos = _varint(buf, pos)  # type: ignore[arg-type]
                indices.append(idx)
        elif number == 4 and wire == 0:
            indices.append(value)  # type: ignore[arg-type]
    vertex_buffer = np.asarray(floats, dtype=np.float64).reshape(-1, 5)
    faces = np.asarray(indices, dtype=np.int64).reshape(-1, 3)
    if vertex_buffer.shape[0] != 468:
        raise ValueError(f"canonical mesh has {vertex_buffer.shape[0]} vertices, expected 468")
    return CanonicalFace(vertex_buffer[:, :3].copy(), vertex_buffer[:, 3:].copy(), faces)


@functools.lru_cache(maxsize=4)
def load_canonical_face(model_path: str | Path) -> CanonicalFace:
    """Read the canonical face from a ``face_landmarker.task`` bundle."""
    with zipfile.ZipFile(model_path) as bundle:
        return parse_metadata(bundle.read(METADATA_NAME))


#: The occluder's front stops this far forward (canonical cm): the frame's back plane sits at
#: z = 5.3 cm, and the nose and brow in front of it would otherwise cut notches out of the inner lower
#: rims, which rest on the nose in reality.
FRONT_LIMIT_Z_CM = 4.6
#: The outer ears (canonical cm): the pinna's centre sits this far behind and below the face's side
#: point near the ear (landmarks 234/454 at x = -+7.66, y = 0.67, z = -2.44), it stands this far out
#: from the head's side, and it is an ellipsoid of these half-sizes (out, up, back), flaring outwards
#: towards its back by EAR_FLARE_DEG. Adult pinnae are about 6 cm tall and 3.5 cm long and stand
#: 1.5-2 cm from the head.
EAR_CENTRE_BEHIND_CM = 2.1
EAR_CENTRE_BELOW_CM = 0.9
EAR_STAND_OUT_CM = 0.9
EAR_RADII_CM = (0.55, 3.0, 1.75)
EAR_FLARE_DEG = 25.0
#: Where temples run along the head (canonical cm), measured on the catalogue's frames placed on the
#: canonical face: from (x, y) at the hinge plane z = 5 to (x, y) at z = -8 behind the ear top. The
#: head's sides are set in to this line's inner edge over TEMPLE_CHANNEL_HALF_HEIGHT_CM above and below
#: it, as a temple presses into the hair and skin it rests on; everywhere else the head keeps its
#: full width (cheekbones, cheeks and jaw, where a temple must never show).
TEMPLE_LINE_FRONT = (6.4, 3.6, 5.0)
TEMPLE_LINE_BACK = (7.3, 0.8, -8.0)
TEMPLE_CHANNEL_HALF_HEIGHT_CM = 1.1
TEMPLE_CLEARANCE_CM = 0.2


def _temple_channel(vertices: np.ndarray) -> np.ndarray:
    """(n, 3) vertices with |x| limited to the temple line's inner edge within the channel."""
    (x0, y0, z0), (x1, y1, z1) = TEMPLE_LINE_FRONT, TEMPLE_LINE_BACK
    t = np.clip((vertices[:, 2] - z0) / (z1 - z0), 0.0, 1.0)
    line_x = x0 + t * (x1 - x0) - TEMPLE_CLEARANCE_CM
    line_y = y0 + t * (y1 - y0)
    # Full depth of the channel within its half-height, easing out over as much again.
    weight = np.clip(2.0 - np.abs(vertices[:, 1] - line_y) / TEMPLE_CHANNEL_HALF_HEIGHT_CM, 0.0, 1.0)
    weight = np.where(vertices[:, 2] <= z0, weight, 0.0)
    limited = np.minimum(np.abs(vertices[:, 0]), line_x)
    out = vertices.copy()
    out[:, 0] = np.sign(vertices[:, 0]) * (
        np.abs(vertices[:, 0]) + weight * (limited - np.abs(vertices[:, 0]))
    )
    return out


def _ears(side_point: np.ndarray) -> list[trimesh.Trimesh]:
    """Two closed ellipsoids for the pinnae, from the face's right side point ``side_point`` (3,)."""
    sphere = trimesh.creation.icosphere(subdivisions=2)
    flare = np.radians(EAR_FLARE_DEG)
    ears = []
    for sign in (-1.0, 1.0):
        local = sphere.vertices * np.asarray(EAR_RADII_CM)
        # Flare: the back of the ear (local -z) leans out from the head (+x on the right side).
        rot = np.array(
            [[np.cos(flare), 0.0, -np.sin(flare)], [0.0, 1.0, 0.0], [np.sin(flare), 0.0, np.cos(flare)]]
        )
        local = local @ rot.T
        centre = np.array(
            [
                abs(side_point[0]) + EAR_STAND_OUT_CM,
                side_point[1] - EAR_CENTRE_BELOW_CM,
                side_point[2] - EAR_CENTRE_BEHIND_CM,
            ]
        )
        vertices = local + centre
        vertices[:, 0] *= sign
        faces = sphere.faces if sign > 0 else sphere.faces[:, ::-1]
        ears.append(trimesh.Trimesh(vertices, faces, process=False))
    return ears


def head_occluder(
    face: CanonicalFace,
    *,
    depth_cm: float = 17.0,
    front_limit_z_cm: float = FRONT_LIMIT_Z_CM,
    ears: bool = True,
    temple_channel: bool = True,
) -> trimesh.Trimesh:
    """A closed head shell, with ears, to hide what the head hides (far temple, temple tips).

    The front is the canonical face itself, pushed back to ``front_limit_z_cm`` where the nose and brow
    stand in front of the frame's back plane, so the glasses in front of the eyes are never cut (no
    notch out of the inner lower rims, which rest on the nose). Behind it, the convex hull of the
    face's rear half and an ellipsoidal skull reaching ``depth_cm`` behind the nose bridge, at the
    face's full width: the cheekbones and temples are as wide as the face's sides, so a temple that
    would hang down a cheek is behind it. The outer ears (:data:`EAR_RADII_CM` ...) stand out from the
    head's sides behind the face's side points (landmarks 234/454), so a near temple's tip goes
    behind the ear at a three-quarter view. ``ears`` and ``temple_channel`` (:func:`_temple_channel`)
    can be left out (tests use that as a control).

    Temples rest on the head: on the average canonical head, whose sides are wider than many a
    wearer's, they would run a few millimetres inside it. Instead of narrowing the whole head behind
    the eyes (0.93 of its width before), only a channel along the temples' line is set in
    (:data:`TEMPLE_LINE_FRONT` ...), as a temple presses into the hair it rests on, and the renderer
    draws the occluder a little further back along the view
    (:data:`tryon.render.glasses.OCCLUDER_SETBACK_CM`), so a temple at the head's surface shows and
    one behind the head or an ear does not.

    Returns a mesh in canonical-face centimetres, ``(n, 3)`` vertices.
    """
    v = face.vertices
    half_width = np.abs(v[:, 0]).max()
    top, bottom = v[:, 1].max(), v[:, 1].min()
    rear = v[v[:, 2] < 0.0]
    # Ellipsoidal skull: centred above the ears, reaching back depth_cm from the nose bridge.
    centre = np.array([0.0, 0.5 * (top + bottom) + 1.0, -4.0])
    radii = np.array([half_width, 0.5 * (top - bottom) + 1.0, depth_cm - 9.2])
    sphere = trimesh.creation.icosphere(subdivisions=2)
    skull = sphere.vertices * radii + centre
    skull = skull[skull[:, 2] < -1.0]
    shell = trimesh.convex.convex_hull(np.vstack([rear, skull]))
    front_vertices = v.copy()
    front_vertices[:, 2] = np.minimum(front_vertices[:, 2], front_limit_z_cm)
    front = trimesh.Trimesh(front_vertices, face.faces, process=False)
    if temple_channel:
        shell = trimesh.Trimesh(_temple_channel(np.asarray(shell.vertices)), shell.faces, process=False)
        front = trimesh.Trimesh(_temple_channel(front_vertices), face.faces, process=False)
    parts = [front, shell]
    if ears:
        parts += _ears(v[SIDE_NEAR_EAR_RIGHT])
    head = trimesh.util.concatenate(parts)
    assert isinstance(head, trimesh.Trimesh)
    return head
