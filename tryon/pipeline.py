"""The try-on pipeline: track -> smooth -> render -> composite, as one reusable object.

:class:`TryOnPipeline` is what the ``tryon`` commands, the mirror, the web server and the benchmarks
drive. It owns a face tracker and a glasses renderer; ``process`` takes a BGR frame and returns the
composited frame with everything known about the faces in it.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from tryon import landmarks as lm
from tryon.canonical import head_occluder, load_canonical_face
from tryon.compose import composite
from tryon.face_identity import match_faces
from tryon.glasses import FrameMaterial, GlassesModel, LensMaterial
from tryon.keyframes import KeyframeOptions, KeyframeTracker
from tryon.lighting import Lighting, estimate_lighting
from tryon.placement import CANONICAL_IRIS_CM, FacePlacement, eye_fit
from tryon.pose import HeadPose, PoseSmoother, SmoothingOptions
from tryon.render import GlassesRenderer, Overlay, RenderOptions, default_intrinsics, project, resolve_msaa
from tryon.render.reuse import TileReuse, TileReuseOptions
from tryon.tracking import FaceObservation, FaceTracker, TrackerOptions, as_bgr_uint8

log = logging.getLogger(__name__)

ANCHORS_2D = ("bridge", "lens_center_left", "lens_center_right")
#: The canonical face's PD (mm) and pupil height (cm), from its iris centres 468/473.
CANONICAL_PD_MM = float(np.linalg.norm(CANONICAL_IRIS_CM[1] - CANONICAL_IRIS_CM[0]) * 10.0)
CANONICAL_PUPIL_Y_CM = float(CANONICAL_IRIS_CM[0, 1])
#: The one rounding of a serialised try-on result (command line, web API, live socket): pixel
#: positions to 1/100 px and wall times to 1/100 ms, both far below what they can resolve.
PX_DECIMALS = 2
MS_DECIMALS = 2


def round_ms(timings_ms: dict[str, float]) -> dict[str, float]:
    """Wall times (ms) rounded as every serialised result rounds them (``MS_DECIMALS``)."""
    return {k: round(float(v), MS_DECIMALS) for k, v in timings_ms.items()}


@dataclass(frozen=True)
class PipelineOptions:
    """Options of :class:`TryOnPipeline`.

    max_faces : faces to track and dress (MediaPipe ``num_faces``)
    running_mode : "video" for streams (temporal tracking + smoothing), "image" for unrelated stills
    smoothing : apply the One Euro pose filter (video mode only); ``smoothing_options`` tunes it
    model_path : face_landmarker.task (None: resolved by :func:`tryon.modelfile.resolve_model`)
    camera_matrix : (3, 3) calibrated intrinsics for the *input* resolution; None uses MediaPipe's 63°
    placement : where frame space sits on the canonical face
    render : renderer options (backend, occlusion, region-only)
    estimate_light : light the frames from the face region of each frame
    pupillary_distance_mm : the wearer's PD as an optician measured it, where the lens optical centres
        are made; None uses the PD seen in the picture (see :func:`tryon.placement.eye_fit`)
    keyframes : video mode: run the Face Landmarker on keyframes only and carry the faces by optical
        flow in between (see :mod:`tryon.keyframes`); None runs it on every frame
    tile_reuse : video mode: draw a face's glasses from its last rendered tile, warped, while the
        warp's error stays under a pixel (see :mod:`tryon.render.reuse`); None renders every frame
    """

    max_faces: int = 1
    running_mode: Literal["image", "video"] = "video"
    smoothing: bool = True
    smoothing_options: SmoothingOptions = field(default_factory=SmoothingOptions)
    model_path: str | os.PathLike[str] | None = None
    camera_matrix: np.ndarray | None = None
    placement: FacePlacement = field(default_factory=FacePlacement)
    render: RenderOptions = field(default_factory=RenderOptions)
    estimate_light: bool = True
    pupillary_distance_mm: float | None = None
    keyframes: KeyframeOptions | None = field(default_factory=KeyframeOptions)
    tile_reuse: TileReuseOptions | None = field(default_factory=TileReuseOptions)

    @property
    def keyframe_tracking(self) -> bool:
        """Whether frames between keyframes are carried by optical flow (video mode only)."""
        return self.keyframes is not None and self.running_mode == "video"

    @property
    def reuses_tiles(self) -> bool:
        """Whether a face's last tile, warped, may stand in for a fresh render (video mode only)."""
        return self.tile_reuse is not None and self.running_mode == "video"


@dataclass(frozen=True)
class FaceResult:
    """One dressed face.

    bbox : (x, y, w, h) pixels
    pose : the (smoothed) head pose used for rendering
    anchors_px : name -> (x, y) pixels of the rendered frame's bridge and of the lens optical
        centres (left/right are the wearer's). As an optician fits lenses, the optical centres sit
        on the lens plane at the wearer's PD and pupil height (decentred from the boxing centres).
    observation : the raw tracking result
    """

    bbox: tuple[int, int, int, int]
    pose: HeadPose
    anchors_px: dict[str, tuple[float, float]]
    observation: FaceObservation

    def anchors_json(self) -> dict[str, list[float]]:
        """The anchors as JSON: name -> [x, y] pixels, rounded to ``PX_DECIMALS``."""
        return {
            k: [round(float(v[0]), PX_DECIMALS), round(float(v[1]), PX_DECIMALS)]
            for k, v in self.anchors_px.items()
        }

    def to_json(self) -> dict:
        """The face as JSON: ``bbox``, ``pose`` (see :meth:`HeadPose.to_json`) and ``anchors_px``."""
        return {"bbox": list(self.bbox), "pose": self.pose.to_json(), "anchors_px": self.anchors_json()}


@dataclass
class TryOnResult:
    """The outcome of one frame.

    image : (H, W, 3) uint8 BGR, the composited frame (the input itself when ``in_place``)
    faces : dressed faces; empty when no face was found (then ``image`` equals the input)
    timings_ms : per-stage wall times
    """

    image: np.ndarray
    faces: list[FaceResult]
    timings_ms: dict[str, float]

    @property
    def face_found(self) -> bool:
        return bool(self.faces)

    def anchors_json(self) -> list[dict[str, list[float]]]:
        """Every face's anchors as JSON (see :meth:`FaceResult.anchors_json`)."""
        return [f.anchors_json() for f in self.faces]

    def to_json(self) -> dict:
        """The result as JSON: ``faces`` and ``timings_ms``, with the module's one rounding."""
        return {"faces": [f.to_json() for f in self.faces], "timings_ms": round_ms(self.timings_ms)}


class _EyeFit:
    """Per-face eye centring in a video: the median of the first ``frames`` estimates, then held."""

    def __init__(self, frames: int) -> None:
        self.frames = max(int(frames), 1)
        self._samples: list[np.ndarray] = []
        self._held: np.ndarray | None = None

    @property
    def held(self) -> np.ndarray | None:
        """The held estimate once enough frames were seen (None before)."""
        return self._held

    def __call__(self, estimate: np.ndarray) -> np.ndarray:
        self._samples.append(estimate)
        value = np.median(np.asarray(self._samples), axis=0)
        if len(self._samples) >= self.frames:
            self._held = value
        return value


@dataclass
class _FaceTrack:
    """The per-face state of a video, carried by identity (see :mod:`tryon.face_identity`)."""

    bbox: tuple[int, int, int, int]
    smoother: PoseSmoother
    eye_fit: _EyeFit


class TryOnPipeline:
    """Track faces, place and render glasses, composite them: one object per stream.

    Use as a context manager. Not re-entrant: call ``process`` from one thread at a time (the GL work
    itself runs on the process's GL thread, see :mod:`tryon.render`).
    """

    def __init__(self, glasses: GlassesModel, options: PipelineOptions | None = None) -> None:
        self.options = options or PipelineOptions()
        landmarker = FaceTracker(
            TrackerOptions(
                max_faces=self.options.max_faces,
                running_mode=self.options.running_mode,
                model_path=self.options.model_path,
            )
        )
        self.tracker: FaceTracker | KeyframeTracker = landmarker
        if self.options.keyframe_tracking:
            self.tracker = KeyframeTracker(landmarker, self.options.keyframes)
        try:
            face = load_canonical_face(str(self.tracker.model_path))
            self.renderer = GlassesRenderer(
                head_occluder(face), self.options.render, reuses_tiles=self.options.reuses_tiles
            )
            self.renderer.msaa_samples = resolve_msaa(
                self.options.render.msaa_samples, still=self.options.running_mode == "image"
            )
            self.renderer.set_glasses(glasses)
        except BaseException:
            self.tracker.close()
            raise
        self._tracks: list[_FaceTrack] = []
        self._frame_to_face = self.options.placement.frame_to_face_mm()
        self._lens_plane_z_cm = self._lens_plane()
        self._last_ts = -1.0
        self.tile_reuse = TileReuse(self.options.tile_reuse) if self.options.reuses_tiles else None
        self._look = 0  # changes with the worn model or its materials: a re-used tile must match it
        self._last_lighting: Lighting | None = None

    # -- configuration ---------------------------------------------------------------------------------

    @property
    def glasses(self) -> GlassesModel:
        assert self.renderer.model is not None
        return self.renderer.model

    def set_glasses(self, model: GlassesModel) -> None:
        """Wear another frame from the next frame on."""
        self.renderer.set_glasses(model)
        self._lens_plane_z_cm = self._lens_plane()
        self._look += 1

    def _lens_plane(self) -> float:
        """Depth of the worn model's lens optical centres in face space (cm)."""
        return self.options.placement.back_plane_z_cm + self.renderer.lens_plane_z_cm

    def set_materials(self, frame: FrameMaterial | None = None, lens: LensMaterial | None = None) -> None:
        """Change frame colour / lens without rebuilding geometry; effective on the next frame."""
        self.renderer.set_materials(frame, lens)
        self._look += 1

    def reset(self) -> None:
        """Forget the smoothing state (e.g. when the stream jumps); the next frame is a keyframe."""
        self._tracks = []
        if isinstance(self.tracker, KeyframeTracker):
            self.tracker.reset()
        if self.tile_reuse is not None:
            self.tile_reuse.forget()

    # -- per frame ---------------------------------------------------------------------------------------

    def track(
        self, frame_bgr: np.ndarray, timestamp_ms: float | None = None
    ) -> tuple[list[FaceObservation], float]:
        """Stage 1: face tracking. Returns the observations and the timestamp used (ms)."""
        if timestamp_ms is None:
            timestamp_ms = max(time.monotonic() * 1000.0, self._last_ts + 1.0)
        ts = int(timestamp_ms) if self.options.running_mode == "video" else None
        faces = self.tracker.track(frame_bgr, ts)
        self._last_ts = float(timestamp_ms)
        return faces, float(timestamp_ms)

    def poses(self, faces: list[FaceObservation], timestamp_ms: float) -> list[HeadPose]:
        """Stage 2: head poses, smoothed per face in video mode (state resets when a face is lost).

        Each pose also carries where this person's eyes are relative to the canonical face (the frame
        is centred on them) and the PD seen at this pose: per frame for stills, and in a video the
        median of the first frames of the track, then held (see :class:`SmoothingOptions.fit_frames`).
        """
        smooth = self.options.smoothing and self.options.running_mode == "video"
        out = []
        for face, track in zip(faces, self._follow(faces), strict=True):
            smoother, fit_filter = track.smoother, track.eye_fit
            m = smoother(face.transform, timestamp_ms) if smooth else face.transform
            fit = fit_filter.held
            if fit is None:
                k = self.camera_matrix(*face.image_size)
                irises = face.landmarks_px[[lm.RIGHT_IRIS_CENTER, lm.LEFT_IRIS_CENTER]]
                offset, pd = eye_fit(irises, face.transform, k, self._lens_plane_z_cm)
                fit = np.array([*offset[:2], pd])
                if self.options.running_mode == "video":
                    fit = fit_filter(fit)
            out.append(
                HeadPose(
                    np.asarray(m, dtype=np.float64),
                    fit_offset_cm=np.array([fit[0], fit[1], 0.0]),
                    pupillary_distance_mm=float(fit[2]),
                )
            )
        return out

    def _follow(self, faces: list[FaceObservation]) -> list[_FaceTrack]:
        """Each face's track, matched to the previous frame's faces by box overlap, not list order.

        A new face gets fresh filters; the tracks of faces no longer seen are dropped.
        """
        matches = match_faces([t.bbox for t in self._tracks], [f.bbox for f in faces])
        opts = self.options.smoothing_options
        tracks = [
            self._tracks[i]
            if i is not None
            else _FaceTrack(f.bbox, PoseSmoother(opts), _EyeFit(opts.fit_frames))
            for f, i in zip(faces, matches, strict=True)
        ]
        for face, track in zip(faces, tracks, strict=True):
            track.bbox = face.bbox
        self._tracks = tracks
        return tracks

    def camera_matrix(self, width: int, height: int) -> np.ndarray:
        if self.options.camera_matrix is not None:
            return np.asarray(self.options.camera_matrix, dtype=np.float64)
        return default_intrinsics(width, height)

    def model_matrix(self, pose: HeadPose) -> np.ndarray:
        """(4, 4) frame space (cm) -> camera (cm) for a head pose (centred on the wearer's eyes)."""
        return pose.matrix @ self._fit_matrix(pose) @ self.options.placement.matrix()

    @staticmethod
    def _fit_matrix(pose: HeadPose) -> np.ndarray:
        m = np.eye(4)
        if pose.fit_offset_cm is not None:
            m[:3, 3] = pose.fit_offset_cm
        return m

    def optical_centres_mm(self, pose: HeadPose | None = None) -> dict[str, np.ndarray]:
        """Lens optical centres in frame space (mm): at the wearer's PD and pupil height.

        The PD is the optician's when given in the options, else the one seen at ``pose``, else the
        canonical face's.
        """
        pd = self.options.pupillary_distance_mm or (pose and pose.pupillary_distance_mm) or CANONICAL_PD_MM
        pupil_y = (CANONICAL_PUPIL_Y_CM - self.options.placement.lens_center_y_cm) * 10.0
        anchors = self.glasses.anchors
        return {
            side: np.array([sign * pd / 2.0, pupil_y, anchors[side][2]])
            for side, sign in (("lens_center_left", 1.0), ("lens_center_right", -1.0))
        }

    def anchors_px(self, pose: HeadPose, camera_matrix: np.ndarray) -> dict[str, tuple[float, float]]:
        """Pixel positions of the frame's bridge and lens optical centres for a head pose."""
        points = {"bridge": self.glasses.anchors["bridge"], **self.optical_centres_mm(pose)}
        pts = np.array([[*points[name], 1.0] for name in ANCHORS_2D])
        cam = (pose.matrix @ self._fit_matrix(pose) @ self._frame_to_face @ pts.T).T[:, :3]
        px = project(cam, camera_matrix)
        return {name: (float(p[0]), float(p[1])) for name, p in zip(ANCHORS_2D, px, strict=True)}

    def render(
        self,
        frame_bgr: np.ndarray,
        faces: list[FaceObservation],
        poses: list[HeadPose],
    ) -> tuple[list[Overlay], np.ndarray, Lighting | None]:
        """Stage 3: light estimate + GL render of every face's glasses (or their last tiles, warped,
        when :attr:`tile_reuse` allows it)."""
        h, w = frame_bgr.shape[:2]
        k = self.camera_matrix(w, h)
        model_matrices = [self.model_matrix(p) for p in poses]
        key = (self._look, w, h, k.tobytes())
        if self.tile_reuse is not None:
            reused = self.tile_reuse.reuse(
                key, model_matrices, k, (w, h), self.renderer.bounds_cm, self.renderer.lens_plane_z_cm
            )
            if reused is not None:
                return reused, k, self._last_lighting
        lighting = None
        if self.options.estimate_light and faces:
            lighting = estimate_lighting(frame_bgr, faces[0].bbox)
        overlays = self.renderer.render([p.matrix for p in poses], model_matrices, k, (w, h), lighting)
        if self.tile_reuse is not None:
            self.tile_reuse.remember(key, model_matrices, overlays)
            self._last_lighting = lighting
        return overlays, k, lighting

    def process(
        self, frame_bgr: np.ndarray, timestamp_ms: float | None = None, *, in_place: bool = False
    ) -> TryOnResult:
        """Dress every face in one frame.

        frame_bgr : (H, W, 3) uint8 BGR (gray, BGRA, 16-bit are converted to a new array)
        timestamp_ms : capture time, increasing (video mode); None uses a monotonic clock
        in_place : composite into ``frame_bgr`` itself instead of a copy (saves a full-frame copy)
        """
        t0 = time.perf_counter()
        frame = as_bgr_uint8(frame_bgr)
        faces, ts = self.track(frame, timestamp_ms)
        t1 = time.perf_counter()
        poses = self.poses(faces, ts)
        t2 = time.perf_counter()
        out = frame if (in_place and frame is frame_bgr) else frame.copy()
        results, timings = self.dress(out, faces, poses)
        timings.update(track=(t1 - t0) * 1000.0, pose=(t2 - t1) * 1000.0)
        timings["total"] = (time.perf_counter() - t0) * 1000.0
        return TryOnResult(out, results, timings)

    def dress(
        self, image: np.ndarray, faces: list[FaceObservation], poses: list[HeadPose]
    ) -> tuple[list[FaceResult], dict[str, float]]:
        """Stages 3 and 4: render every face's glasses and composite them into ``image`` in place.

        image : (H, W, 3) uint8 BGR, modified in place
        Returns the dressed faces and the ``render`` / ``composite`` wall times (ms).
        """
        if not faces:
            return [], {"render": 0.0, "composite": 0.0}
        t0 = time.perf_counter()
        overlays, k, _ = self.render(image, faces, poses)
        t1 = time.perf_counter()
        for overlay in overlays:
            composite(image, overlay)
        t2 = time.perf_counter()
        results = [
            FaceResult(bbox=f.bbox, pose=p, anchors_px=self.anchors_px(p, k), observation=f)
            for f, p in zip(faces, poses, strict=True)
        ]
        return results, {"render": (t1 - t0) * 1000.0, "composite": (t2 - t1) * 1000.0}

    # -- lifetime ------------------------------------------------------------------------------------------

    def close(self) -> None:
        self.tracker.close()
        self.renderer.close()

    def __enter__(self) -> TryOnPipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
