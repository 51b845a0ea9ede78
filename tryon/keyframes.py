"""Keyframe tracking: the Face Landmarker on some frames, sparse optical flow on the others.

The Face Landmarker is most of a live frame's cost (9-13 ms of 12-13 ms on the reference machine).
:class:`KeyframeTracker` runs it on a *keyframe* and carries the face forward on the frames in
between:

1. **Flow.** About forty landmarks on rigid, textured parts of the face (eye corners, nose, brow
   line, cheekbones, forehead; not the lips, jaw or eyelids) are followed with pyramidal
   Lucas-Kanade (``cv2.calcOpticalFlowPyrLK``) from the previous frame, inside a crop around the
   face, and checked forward-backward (a point that does not flow back to where it came from is
   dropped).
2. **Rigid pose.** ``cv2.solvePnP`` (iterative, the previous pose as the initial guess) fits the
   head pose to the flowed points. The 3D points are this person's own: the keyframe's landmarks
   back-projected to the depth the keyframe's facial transformation matrix gives the canonical face
   there, so at the keyframe the fit reproduces MediaPipe's pose exactly and in between it follows
   the same face, not the average one.
3. **Observation.** All 478 landmarks are re-projected from the new pose, and a normal
   :class:`tryon.tracking.FaceObservation` comes out: the pipeline's One Euro filter, eye fit, box
   matching and rendering see no difference.

When the landmarker runs (a keyframe), adaptively:

* always on the first ``acquisition_frames`` frames after a face is found (the pipeline's eye fit
  reads the irises then), and whenever no face is being carried;
* at least every ``max_interval``-th frame, and on every frame while the head is turned further
  than ``max_yaw_deg`` from the camera;
* at once, on the same frame, when the flow fails: too few points pass the forward-backward check,
  the pose fit's reprojection error is large, or the face moved fast (more than ``max_motion`` of the
  eye distance, or more than ``max_rotation_deg``, since the previous frame). MediaPipe's Tasks API
  gives no per-face confidence score, so these flow checks are the confidence signal.

Faces are carried only between keyframes: a face that comes into the picture meanwhile is found at
the next keyframe, at most ``max_interval - 1`` frames later.

MediaPipe's VIDEO mode tracks from the previous landmarks and smooths one face's landmarks over time;
it only sees keyframes here, with their real (larger-spaced) timestamps, so its own filter works with
the true time between the frames it sees.

**Steadiness.** Flow-carried poses taken as they come made the rendered bridge jitter more than
every-frame tracking on a still head (second differences 0.0110 vs 0.0064 px on the webcam clip's
still stretch), for two measured reasons: the carried landmarks never pass through MediaPipe's landmark
filter, and each keyframe rebuilt the face model from one noisy landmarker result, so the pose stepped
there (two thirds of the jitter sat in the frames around the keyframes). Two remedies, both on by
default:

* the flow landmarks pass through MediaPipe's own landmark filter (:mod:`tryon.landmark_filter`, the
  same One Euro parameters as the Face Landmarker graph) on every frame, keyframes included, and the
  pose handed on is fitted to the filtered points. On a keyframe right after another keyframe the
  landmarker's own filter has run at the full frame rate, so its pose is handed on as it is (and the
  filter only follows);
* while the head stays still (turned less than ``model_max_turn_deg`` since the previous frame), a
  keyframe's face model is averaged with the previous ones (each new one weighs at least
  ``1 / (model_frames + 1)``); when it moves, the new keyframe's model replaces the old one, since
  the landmarks' shape changes with the pose.

The observation's landmarks on a keyframe are always the landmarker's own (measurements read them);
its ``transform`` is the pose to draw with.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from tryon import landmarks as lm
from tryon.canonical import load_canonical_face
from tryon.face_identity import match_faces
from tryon.landmark_filter import LandmarkFilter
from tryon.placement import CANONICAL_IRIS_CM
from tryon.render.camera import default_intrinsics, project
from tryon.tracking import FaceObservation, FaceTracker, as_bgr_uint8

log = logging.getLogger(__name__)

#: Landmarks followed by optical flow: rigid and textured (eye corners, nose, brow line,
#: cheekbones, forehead). Lips, jaw and eyelids move with expressions and are left out.
FLOW_LANDMARKS = (
    10, 338, 109, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 98, 327, 129, 358,  # forehead, nose
    33, 133, 362, 263, 130, 359, 243, 463,  # eye corners
    70, 300, 105, 334, 107, 336, 55, 285,  # brow line
    123, 352, 116, 345, 50, 280, 36, 266, 127, 356,  # cheekbones, temples
)  # fmt: skip
#: Positions in FLOW_LANDMARKS of the outer eye corners (33, 263): the face's scale in pixels.
_EYE_CORNERS = (FLOW_LANDMARKS.index(lm.RIGHT_EYE_OUTER), FLOW_LANDMARKS.index(lm.LEFT_EYE_OUTER))
#: Iris landmark -> the iris centre it shares a depth with (468 right, 473 left).
_IRIS_CENTRE = {i: lm.RIGHT_IRIS_CENTER for i in range(468, 473)} | {
    i: lm.LEFT_IRIS_CENTER for i in range(473, 478)
}
#: OpenGL camera (y up, looking down -z) <-> OpenCV camera (y down, looking down +z).
_GL_TO_CV = np.diag([1.0, -1.0, -1.0, 1.0])


@dataclass(frozen=True)
class KeyframeOptions:
    """When to run the Face Landmarker, and how the flow is checked.

    max_interval : run the landmarker at least every this many frames (1: every frame)
    acquisition_frames : frames after a face is found that all run the landmarker
    max_motion : a flowed point moving more than this fraction of the eye distance since the
        previous frame (median over the points) makes the frame a keyframe
    max_rotation_deg : the head turning more than this since the previous frame makes it a keyframe
    max_yaw_deg : a head turned further than this from the camera runs the landmarker on every frame
        (the far side's flow points are hidden, and few rigid points are left to fit the pose to)
    max_fb_error : forward-backward error (fraction of the eye distance) above which a point is dropped
    min_good_fraction : fewer surviving points than this fraction makes the frame a keyframe
    max_reprojection : median reprojection error of the pose fit (fraction of the eye distance)
        above which the frame is a keyframe
    window : Lucas-Kanade window (px, odd) at the finest level; levels : extra pyramid levels
    crop_margin : room around the flow points in the crop, as a fraction of the face's size
    smoothing : fit the handed-on pose to the flow landmarks after MediaPipe's landmark filter
    model_frames : while the head is still, a keyframe's face model is averaged with up to this many
        earlier ones (0: each keyframe's model alone)
    model_max_turn_deg : the head turning more than this since the previous frame starts the average
        afresh
    """

    max_interval: int = 5
    acquisition_frames: int = 15
    max_motion: float = 0.06
    max_rotation_deg: float = 4.0
    max_yaw_deg: float = 30.0
    max_fb_error: float = 0.02
    min_good_fraction: float = 0.7
    max_reprojection: float = 0.02
    window: int = 21
    levels: int = 3
    crop_margin: float = 0.35
    smoothing: bool = True
    model_frames: int = 5
    model_max_turn_deg: float = 2.0

    def __post_init__(self) -> None:
        if self.max_interval < 1:
            raise ValueError(f"max_interval must be at least 1, got {self.max_interval}")
        if self.acquisition_frames < 0:
            raise ValueError(f"acquisition_frames must be 0 or more, got {self.acquisition_frames}")
        if self.model_frames < 0:
            raise ValueError(f"model_frames must be 0 or more, got {self.model_frames}")
        if self.window < 5 or self.window % 2 == 0:
            raise ValueError(f"window must be an odd number of pixels >= 5, got {self.window}")


@dataclass
class _Carried:
    """One face carried between keyframes.

    face_points : (478, 3) float64, this person's landmarks in canonical-face space (cm)
    depth_z : (478,) float32, MediaPipe's relative z of the keyframe's landmarks
    rvec, tvec : (3, 1) float64, OpenCV pose (face space -> OpenCV camera, cm) fitted to the flow
    points_px : (n, 2) float32, the flow landmarks in the previous frame (pixels)
    smoother : MediaPipe's landmark filter over the flow landmarks' pixel positions
    bbox : (x, y, w, h) of the face's landmarks in the previous frame
    models : how many keyframe models ``face_points`` averages
    """

    face_points: np.ndarray
    depth_z: np.ndarray
    rvec: np.ndarray
    tvec: np.ndarray
    points_px: np.ndarray
    smoother: LandmarkFilter
    bbox: tuple[int, int, int, int]
    models: int = 1


@dataclass
class KeyframeStats:
    """Counts since the tracker was made: frames, keyframes, and why each keyframe was taken."""

    frames: int = 0
    keyframes: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def keyframe_fraction(self) -> float:
        return self.keyframes / self.frames if self.frames else 0.0

    def to_json(self) -> dict:
        return {
            "frames": self.frames,
            "keyframes": self.keyframes,
            "keyframe_fraction": round(self.keyframe_fraction, 4),
            "reasons": dict(sorted(self.reasons.items())),
        }


class KeyframeTracker:
    """A :class:`tryon.tracking.FaceTracker` (VIDEO mode) that runs the landmarker only on keyframes.

    Same ``track(frame, timestamp_ms)`` contract and :class:`FaceObservation` results as the tracker
    it wraps, which it owns (``close`` closes it). ``last_keyframe`` says whether the latest call ran
    the landmarker; ``stats`` counts keyframes and their reasons.
    """

    def __init__(self, tracker: FaceTracker, options: KeyframeOptions | None = None) -> None:
        if tracker.options.running_mode != "video":
            raise ValueError("keyframe tracking needs a VIDEO-mode tracker (stills have no previous frame)")
        self.tracker = tracker
        self.options = options or KeyframeOptions()
        self.model_path = tracker.model_path
        canonical = load_canonical_face(str(tracker.model_path)).vertices
        iris = {lm.RIGHT_IRIS_CENTER: CANONICAL_IRIS_CM[0], lm.LEFT_IRIS_CENTER: CANONICAL_IRIS_CM[1]}
        #: (478, 3) canonical positions used for each landmark's depth at a keyframe
        self._depth_model = np.array(
            [canonical[i] if i < len(canonical) else iris[_IRIS_CENTRE[i]] for i in range(lm.NUM_LANDMARKS)]
        )
        self._flow_ids = np.asarray(FLOW_LANDMARKS)
        self._faces: list[_Carried] = []
        self._prev_gray: np.ndarray | None = None
        self._prev_rect = (0, 0, 0, 0)  # left, top, width, height of the crop in the frame
        self._prev_size = (0, 0)
        self._since_key = 0
        self._since_found = 0
        self.last_keyframe = False
        self._time_ms = 0.0
        self.stats = KeyframeStats()

    # -- lifetime --------------------------------------------------------------------------------------

    def close(self) -> None:
        self.tracker.close()

    def __enter__(self) -> KeyframeTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reset(self) -> None:
        """Forget the carried faces: the next frame is a keyframe."""
        self._faces = []
        self._prev_gray = None

    # -- per frame ---------------------------------------------------------------------------------------

    def track(self, frame_bgr: np.ndarray, timestamp_ms: int | None = None) -> list[FaceObservation]:
        """Faces in one frame: from the landmarker on a keyframe, carried by flow otherwise.

        frame_bgr : (H, W, 3) uint8 BGR (other layouts are converted)
        timestamp_ms : increasing capture time (see :meth:`FaceTracker.track`)
        """
        frame_bgr = as_bgr_uint8(frame_bgr)
        self.stats.frames += 1
        now = float(timestamp_ms) if timestamp_ms is not None else time.monotonic() * 1000.0
        self._time_ms = max(now, self._time_ms + 1.0)
        reason = self._keyframe_reason()
        carried: list[FaceObservation] | None = None
        if reason is None:
            carried, reason = self._carry(frame_bgr)
        if carried is not None:
            self._since_key += 1
            self._since_found += 1
            self.last_keyframe = False
            return carried
        assert reason is not None
        return self._keyframe(frame_bgr, timestamp_ms, reason)

    def _keyframe_reason(self) -> str | None:
        if not self._faces or self._prev_gray is None:
            return "no_face"
        if self._since_found < self.options.acquisition_frames:
            return "acquisition"
        if self._since_key + 1 >= self.options.max_interval:
            return "interval"
        return None

    def _keyframe(
        self, frame_bgr: np.ndarray, timestamp_ms: int | None, reason: str
    ) -> list[FaceObservation]:
        self.stats.keyframes += 1
        self.stats.reasons[reason] = self.stats.reasons.get(reason, 0) + 1
        after_carried = not self.last_keyframe
        self.last_keyframe = True
        self._since_key = 0
        faces = self.tracker.track(frame_bgr, timestamp_ms)
        if not faces:
            self._faces = []
            self._prev_gray = None
            self._since_found = 0
            return faces
        self._since_found = self._since_found + 1 if self._faces else 1
        h, w = frame_bgr.shape[:2]
        k = default_intrinsics(w, h)
        previous = self._faces
        self._faces = [self._from_observation(face, k) for face in faces]
        matches = match_faces([c.bbox for c in previous], [f.bbox for f in faces])
        out = []
        for i, (face, match) in enumerate(zip(faces, matches, strict=True)):
            if match is None:
                out.append(face)
                continue
            self._faces[i] = self._continue(self._faces[i], previous[match], k)
            if after_carried and self.options.smoothing:
                # The landmarker's filter saw one frame in several: hand on the pose fitted to the
                # filtered landmarks, as on the carried frames.
                out.append(replace(face, transform=self._smoothed_pose(self._faces[i], k)))
            else:
                out.append(face)
        self._remember(frame_bgr)
        return out

    def _continue(self, carried: _Carried, earlier: _Carried, k: np.ndarray) -> _Carried:
        """A keyframe's face, carrying on the same face's landmark filter and (head still) its model."""
        opts = self.options
        points = carried.points_px.astype(np.float64)
        smoother = earlier.smoother.step(points, self._time_ms, _object_scale(carried.bbox))
        if opts.model_frames == 0 or _turn_deg(carried.rvec, earlier.rvec) > opts.model_max_turn_deg:
            return replace(carried, smoother=smoother)
        n = min(earlier.models, opts.model_frames)
        face_points = (n * earlier.face_points + carried.face_points) / (n + 1)
        # This keyframe's pose for the averaged model, fitted to the landmarker's own points.
        fitted = _fit_pose(face_points[self._flow_ids], points, k, carried.rvec, carried.tvec)
        if fitted is None:
            return replace(carried, smoother=smoother)
        rvec, tvec = fitted
        return replace(
            carried,
            face_points=face_points,
            rvec=rvec,
            tvec=tvec,
            points_px=_project(face_points[self._flow_ids], rvec, tvec, k),
            smoother=smoother,
            models=earlier.models + 1,
        )

    def _smoothed_pose(self, carried: _Carried, k: np.ndarray) -> np.ndarray:
        """(4, 4) OpenGL pose fitted to the filtered flow landmarks (the raw fit if that fails)."""
        fitted = _fit_pose(
            carried.face_points[self._flow_ids], carried.smoother.value, k, carried.rvec, carried.tvec
        )
        return _gl_pose(*(fitted or (carried.rvec, carried.tvec)))

    def _from_observation(self, face: FaceObservation, k: np.ndarray) -> _Carried:
        """This person's landmarks in face space, from a keyframe (see the module's docstring)."""
        transform = face.transform
        depth = -(self._depth_model @ transform[:3, :3].T + transform[:3, 3])[:, 2]
        depth = np.maximum(depth, 1e-3)
        px = face.landmarks_px.astype(np.float64)
        cam = np.empty((len(px), 3))
        cam[:, 0] = (px[:, 0] - k[0, 2]) / k[0, 0] * depth
        cam[:, 1] = -(px[:, 1] - k[1, 2]) / k[1, 1] * depth
        cam[:, 2] = -depth
        inverse = np.linalg.inv(transform)
        face_points = cam @ inverse[:3, :3].T + inverse[:3, 3]
        cv_pose = _GL_TO_CV @ transform
        rvec, _ = cv2.Rodrigues(cv_pose[:3, :3])
        points = face.landmarks_px[self._flow_ids].astype(np.float32)
        return _Carried(
            face_points=face_points,
            depth_z=face.landmarks[:, 2].copy(),
            rvec=rvec,
            tvec=cv_pose[:3, 3].reshape(3, 1).copy(),
            points_px=points,
            smoother=LandmarkFilter.start(points, self._time_ms),
            bbox=face.bbox,
        )

    @staticmethod
    def _crop(frame_bgr: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
        """(height, width) uint8: the grayscale of ``rect`` (left, top, width, height) of the frame."""
        left, top, width, height = rect
        return cv2.cvtColor(frame_bgr[top : top + height, left : left + width], cv2.COLOR_BGR2GRAY)

    def _remember(self, frame_bgr: np.ndarray) -> None:
        """Keep the crop around the carried faces' flow points (with room to move) for the next flow."""
        h, w = frame_bgr.shape[:2]
        pts = np.vstack([f.points_px for f in self._faces])
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        margin = self.options.crop_margin * max(x1 - x0, y1 - y0) + self.options.window
        left, top = max(int(x0 - margin), 0), max(int(y0 - margin), 0)
        right, bottom = min(int(x1 + margin) + 1, w), min(int(y1 + margin) + 1, h)
        self._prev_rect = (left, top, right - left, bottom - top)
        self._prev_size = (w, h)
        self._prev_gray = self._crop(frame_bgr, self._prev_rect)

    def _carry(self, frame_bgr: np.ndarray) -> tuple[list[FaceObservation] | None, str | None]:
        """Carry every face to this frame by flow; (None, reason) when the flow is not trusted."""
        assert self._prev_gray is not None
        opts = self.options
        h, w = frame_bgr.shape[:2]
        if (w, h) != self._prev_size:
            return None, "frame_size"
        gray = self._crop(frame_bgr, self._prev_rect)
        k = default_intrinsics(w, h)
        origin = np.array(self._prev_rect[:2], dtype=np.float32)
        prev_pts = np.vstack([f.points_px for f in self._faces]) - origin
        win = (opts.window, opts.window)
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03)
        nxt, st, _ = cv2.calcOpticalFlowPyrLK(
            self._prev_gray,
            gray,
            prev_pts.reshape(-1, 1, 2),
            None,
            winSize=win,
            maxLevel=opts.levels,
            criteria=criteria,
        )
        back, st_back, _ = cv2.calcOpticalFlowPyrLK(
            gray, self._prev_gray, nxt, None, winSize=win, maxLevel=opts.levels, criteria=criteria
        )
        ok_all = (st.ravel() == 1) & (st_back.ravel() == 1)
        fb_all = np.linalg.norm(back.reshape(-1, 2) - prev_pts, axis=1)
        nxt = nxt.reshape(-1, 2)
        n = len(self._flow_ids)
        out: list[FaceObservation] = []
        updated: list[_Carried] = []
        for i, face in enumerate(self._faces):
            sl = slice(i * n, (i + 1) * n)
            eye_px = float(np.linalg.norm(face.points_px[_EYE_CORNERS[0]] - face.points_px[_EYE_CORNERS[1]]))
            scale = max(eye_px, 1.0)
            good = ok_all[sl] & (fb_all[sl] < opts.max_fb_error * scale)
            if good.mean() < opts.min_good_fraction:
                return None, "flow_lost"
            moved = np.linalg.norm(nxt[sl] - prev_pts[sl], axis=1)[good]
            if float(np.median(moved)) > opts.max_motion * scale:
                return None, "motion"
            image_pts = (nxt[sl][good] + origin).astype(np.float64)
            object_pts = face.face_points[self._flow_ids[good]]
            fitted = _fit_pose(object_pts, image_pts, k, face.rvec, face.tvec)
            if fitted is None:
                return None, "pose_fit"
            rvec, tvec = fitted
            reprojected, _ = cv2.projectPoints(object_pts, rvec, tvec, k, None)
            error = np.linalg.norm(reprojected.reshape(-1, 2) - image_pts, axis=1)
            if float(np.median(error)) > opts.max_reprojection * scale:
                return None, "pose_fit"
            if _turn_deg(rvec, face.rvec) > opts.max_rotation_deg:
                return None, "motion"
            if abs(_yaw_deg(rvec)) > opts.max_yaw_deg:
                return None, "turned"
            # The flow goes on from the raw fit; the pose handed on is fitted to the filtered points.
            points = _project(face.face_points[self._flow_ids], rvec, tvec, k)
            carried = replace(face, rvec=rvec, tvec=tvec, points_px=points)
            pose = _gl_pose(rvec, tvec)
            if opts.smoothing:
                carried.smoother = face.smoother.step(points, self._time_ms, _object_scale(face.bbox))
                pose = self._smoothed_pose(carried, k)
            observation = self._observation(carried, pose, k, (w, h))
            carried.bbox = observation.bbox
            updated.append(carried)
            out.append(observation)
        self._faces = updated
        self._prev_gray = None
        self._remember(frame_bgr)
        return out, None

    def _observation(
        self, face: _Carried, pose: np.ndarray, k: np.ndarray, size: tuple[int, int]
    ) -> FaceObservation:
        """A :class:`FaceObservation` for a carried face at ``pose`` ((4, 4), OpenGL camera)."""
        w, h = size
        px = project(face.face_points @ pose[:3, :3].T + pose[:3, 3], k).astype(np.float32)
        landmarks = np.empty((len(px), 3), dtype=np.float32)
        landmarks[:, 0] = px[:, 0] / w
        landmarks[:, 1] = px[:, 1] / h
        landmarks[:, 2] = face.depth_z
        x0, y0 = np.floor(px.min(axis=0)).astype(int)
        x1, y1 = np.ceil(px.max(axis=0)).astype(int)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        return FaceObservation(
            landmarks=landmarks,
            landmarks_px=px,
            transform=pose,
            bbox=(int(x0), int(y0), int(max(x1 - x0, 0)), int(max(y1 - y0, 0))),
            image_size=(w, h),
        )


def _fit_pose(
    object_pts: np.ndarray, image_pts: np.ndarray, k: np.ndarray, rvec: np.ndarray, tvec: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """OpenCV pose (rvec, tvec, (3, 1) each) of (n, 3) face-space points seen at (n, 2) pixels,
    starting from (rvec, tvec); None when the fit fails or puts the face behind the camera."""
    ok, rvec, tvec = cv2.solvePnP(
        object_pts,
        np.asarray(image_pts, dtype=np.float64),
        k,
        None,
        rvec.copy(),
        tvec.copy(),
        useExtrinsicGuess=True,
        flags=cv2.SOLVEPNP_ITERATIVE,
    )
    if not ok or float(tvec[2, 0]) <= 0:
        return None
    return rvec, tvec


def _project(object_pts: np.ndarray, rvec: np.ndarray, tvec: np.ndarray, k: np.ndarray) -> np.ndarray:
    """(n, 2) float32: where the OpenCV pose (rvec, tvec) puts (n, 3) face-space points.

    The flow starts the next frame from these re-projections rather than the flowed positions: that
    drops points that drifted and keeps them on the rigid face model.
    """
    px, _ = cv2.projectPoints(object_pts, rvec, tvec, k, None)
    return px.reshape(-1, 2).astype(np.float32)


def _gl_pose(rvec: np.ndarray, tvec: np.ndarray) -> np.ndarray:
    """(4, 4) face space -> OpenGL camera, from an OpenCV pose (rvec, tvec)."""
    cv_pose = np.eye(4)
    cv_pose[:3, :3] = cv2.Rodrigues(rvec)[0]
    cv_pose[:3, 3] = np.asarray(tvec).ravel()
    return _GL_TO_CV @ cv_pose


def _turn_deg(rvec_a: np.ndarray, rvec_b: np.ndarray) -> float:
    """The angle (degrees) between two OpenCV rotations."""
    turn = cv2.Rodrigues(rvec_a)[0] @ cv2.Rodrigues(rvec_b)[0].T
    return float(np.degrees(np.arccos(np.clip((np.trace(turn) - 1.0) / 2.0, -1.0, 1.0))))


def _object_scale(bbox: tuple[int, int, int, int]) -> float:
    """A face's size in pixels as MediaPipe's landmark filter measures it: mean of box width and height."""
    return (bbox[2] + bbox[3]) / 2.0


def _yaw_deg(rvec: np.ndarray) -> float:
    """Yaw (degrees) of an OpenCV pose: the angle of the face's forward axis from the camera's."""
    forward = cv2.Rodrigues(rvec)[0][:, 2]  # +z of the face (out of it), in OpenCV camera space
    return float(np.degrees(np.arctan2(forward[0], -forward[2])))
