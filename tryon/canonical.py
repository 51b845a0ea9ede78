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


def head_occluder(
    face: CanonicalFace,
    *,
    side_inset_cm: float = 0.6,
    depth_cm: float = 17.0,
    side_scale: float = 0.93,
    front_limit_z_cm: float = FRONT_LIMIT_Z_CM,
) -> trimesh.Trimesh:
    """A closed head shell to hide what the head hides (temples behind the ears, far side).

    The front is the canonical face itself, pushed back to ``front_limit_z_cm`` where the nose and brow
    stand in front of the frame's back plane, so the glasses in front of the eyes are never cut (no
    notch out of the inner lower rims, which rest on the nose); the back is the convex hull of the
    face's rear half and an ellipsoidal skull behind it, drawn a little inside the face's sides
    (``side_inset_cm``) so temples that run along the side of the head stay visible from the front
    and vanish when the head turns away. Behind the eyes the whole occluder is narrowed to
    ``side_scale`` of its width (ramping in between z = 4 and z = 1 cm): catalogue frames are sized
    for real heads, and a temple that grazes the average face's cheek must still show on the near
    side (a full-width shell hides the near temple right behind the hinge on ``three_quarter_view.jpg``).
    The temples fade out before they reach the ears (:func:`tryon.render.materials.temple_fade`), so
    no ear geometry is needed to keep their tips off the ears (ellipsoidal ears, tried, hid the near
    temple's visible part on ``three_quarter_view.jpg`` too).

    Returns a mesh in canonical-face centimetres, ``(n, 3)`` vertices.
    """
    v = face.vertices
    half_width = np.abs(v[:, 0]).max() - side_inset_cm
    top, bottom = v[:, 1].max(), v[:, 1].min()
    rear = v[v[:, 2] < 0.0].copy()
    rear[:, 0] *= half_width / max(np.abs(rear[:, 0]).max(), 1e-6)
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
    head = trimesh.util.concatenate([front, shell])
    assert isinstance(head, trimesh.Trimesh)
    vertices = head.vertices.copy()
    ramp = np.clip((vertices[:, 2] - 1.0) / 3.0, 0.0, 1.0)
    vertices[:, 0] *= side_scale + (1.0 - side_scale) * ramp
    return trimesh.Trimesh(vertices, head.faces, process=False)
