"""The core's placement numbers as JSON, for a try-on that runs elsewhere (the browser mode).

Everything a client needs to put a frame on a face exactly as :class:`tryon.pipeline.TryOnPipeline`
does, read from the objects the core itself uses, so that no constant is written twice:

* ``camera``: MediaPipe's vertical field of view and the clip planes (:mod:`tryon.render.camera`);
* ``placement``: frame space (mm) -> canonical face (cm) (:class:`tryon.placement.FacePlacement`);
* ``eye_fit``: the eye-centring rule (:func:`tryon.placement.eye_fit`): canonical iris centres, the
  clamp, how many frames are medianed before the fit is held, the canonical PD and pupil height
  where the optical centres are reported, and the landmark indices of the two iris centres;
* ``one_euro``: the pose filter's parameters (:class:`tryon.pose.SmoothingOptions`);
* ``temple_fade``: where the temples fade out (:mod:`tryon.render.materials`);
* ``lighting``: the light-estimate constants and those of the reflected environment taken from the
  camera frame (:mod:`tryon.lighting`);
* ``contact_shadow``: how strongly and from which coverage the opaque parts darken the skin under
  them (:mod:`tryon.compose`);
* ``occluder``: the depth-only head occluder mesh (:func:`tryon.canonical.head_occluder`), canonical
  centimetres, ``vertices`` ``(n, 3)`` and ``faces`` ``(m, 3)`` as nested lists, and ``setback_cm``,
  how much further from the camera it is drawn (:data:`tryon.render.glasses.OCCLUDER_SETBACK_CM`).

:func:`frame_spec` adds what depends on the frame worn: its anchors and its lens plane.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from tryon import landmarks as lm
from tryon.canonical import CanonicalFace, head_occluder
from tryon.compose import CONTACT_SHADOW_STRENGTH, SHADOW_CASTER_ALPHA
from tryon.glasses import GlassesModel, LensMaterial
from tryon.lighting import (
    AMBIENT_SHARE,
    ENVIRONMENT_BLUR,
    ENVIRONMENT_CONTRAST,
    ENVIRONMENT_RANGE,
    ENVIRONMENT_SIZE,
    ILLUMINANT_CLAMP,
    ILLUMINANT_TRUST,
    KEY_SHARE,
    SKIN_CHROMATICITY,
    SKIN_LUMINANCE_ALBEDO,
)
from tryon.placement import CANONICAL_IRIS_CM, MAX_FIT_OFFSET_CM, FacePlacement
from tryon.pose import SmoothingOptions
from tryon.render.camera import MEDIAPIPE_VERTICAL_FOV_DEG, Z_FAR_CM, Z_NEAR_CM
from tryon.render.glasses import OCCLUDER_SETBACK_CM
from tryon.render.materials import TEMPLE_FADE_END_MM, TEMPLE_FADE_START_MM, lens_reflectance

#: Bumped when the meaning of a field changes; clients check it.
SPEC_VERSION = 1
#: Occluder vertices are rounded to 1/100 mm (canonical cm, 4 decimals): far below a pixel.
OCCLUDER_DECIMALS = 4


def _floats(a: np.ndarray, decimals: int = 6) -> list:
    return np.round(np.asarray(a, dtype=np.float64), decimals).tolist()


def placement_spec(
    face: CanonicalFace,
    placement: FacePlacement | None = None,
    smoothing: SmoothingOptions | None = None,
) -> dict[str, object]:
    """The frame-independent placement numbers (see the module docstring), JSON-ready.

    face : the canonical face of the model bundle in use (:func:`tryon.canonical.load_canonical_face`)
    """
    placement = placement or FacePlacement()
    smoothing = smoothing or SmoothingOptions()
    occluder = head_occluder(face)
    return {
        "version": SPEC_VERSION,
        "units": {"frame": "mm", "face": "cm"},
        "camera": {
            "vertical_fov_deg": MEDIAPIPE_VERTICAL_FOV_DEG,
            "z_near_cm": Z_NEAR_CM,
            "z_far_cm": Z_FAR_CM,
        },
        "placement": {
            "lens_center_y_cm": placement.lens_center_y_cm,
            "back_plane_z_cm": placement.back_plane_z_cm,
            "frame_to_face_mm": _floats(placement.frame_to_face_mm()),
        },
        "eye_fit": {
            "canonical_iris_cm": _floats(CANONICAL_IRIS_CM),
            "max_offset_cm": MAX_FIT_OFFSET_CM,
            "fit_frames": smoothing.fit_frames,
            "canonical_pd_mm": float(np.linalg.norm(CANONICAL_IRIS_CM[1] - CANONICAL_IRIS_CM[0]) * 10.0),
            "canonical_pupil_y_cm": float(CANONICAL_IRIS_CM[0, 1]),
            "iris_landmarks": {"right": lm.RIGHT_IRIS_CENTER, "left": lm.LEFT_IRIS_CENTER},
        },
        "one_euro": {
            "position": asdict(smoothing.position),
            "depth": asdict(smoothing.depth),
            "rotation": asdict(smoothing.rotation),
        },
        "temple_fade": {"start_mm": TEMPLE_FADE_START_MM, "end_mm": TEMPLE_FADE_END_MM},
        "lighting": {
            "skin_chromaticity": _floats(SKIN_CHROMATICITY),
            "skin_luminance_albedo": SKIN_LUMINANCE_ALBEDO,
            "illuminant_trust": ILLUMINANT_TRUST,
            "illuminant_clamp": list(ILLUMINANT_CLAMP),
            "ambient_share": AMBIENT_SHARE,
            "key_share": KEY_SHARE,
            "environment_size": list(ENVIRONMENT_SIZE),
            "environment_blur": ENVIRONMENT_BLUR,
            "environment_contrast": ENVIRONMENT_CONTRAST,
            "environment_range": list(ENVIRONMENT_RANGE),
        },
        "contact_shadow": {"strength": CONTACT_SHADOW_STRENGTH, "caster_alpha": SHADOW_CASTER_ALPHA},
        "occluder": {
            # drawn this far further from the camera than the head (camera z, cm): setback · pose
            "setback_cm": OCCLUDER_SETBACK_CM,
            "vertices": _floats(occluder.vertices, OCCLUDER_DECIMALS),
            "faces": np.asarray(occluder.faces, dtype=np.int64).tolist(),
        },
    }


def lens_json(lens: LensMaterial) -> dict[str, object]:
    """A lens option's tint (linear RGB), its opacity at the top and bottom edge, and its surface: the
    Fresnel reflectance at normal incidence (:func:`tryon.render.materials.lens_reflectance`: 8%
    uncoated, 1% anti-reflective, more for mirrors)."""
    return {
        "name": lens.name,
        "tint": [float(c) for c in lens.tint],
        "opacity_top": float(lens.opacity_top),
        "opacity_bottom": float(lens.opacity_bottom),
        "mirror": bool(lens.mirror),
        "anti_reflective": bool(lens.anti_reflective),
        "reflectance": float(lens_reflectance(lens)),
    }


def frame_spec(model: GlassesModel, placement: FacePlacement | None = None) -> dict[str, object]:
    """What placement needs of the frame worn: anchors (frame space, mm), the lens plane's depth in
    face space (cm, as :meth:`tryon.pipeline.TryOnPipeline._lens_plane` computes it), the boxing
    dimensions and the lens option (its gradient)."""
    placement = placement or FacePlacement()
    return {
        "id": model.id,
        "anchors_mm": {name: _floats(point) for name, point in model.anchors.items()},
        "lens_plane_z_cm": placement.back_plane_z_cm + 0.1 * float(model.anchors["lens_center_left"][2]),
        "dimensions_mm": {k: float(v) for k, v in model.dimensions_mm.items()},
        "lens": lens_json(model.lens_material),
    }
