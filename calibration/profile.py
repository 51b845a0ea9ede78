"""Named camera profiles: the intrinsics of one store camera, saved as JSON.

A profile is written once by ``tryon calibrate`` and loaded by the mirror, the web live view and
``tryon measure`` with :func:`load_profile`. The JSON file holds::

    {
      "format": "tryon-camera-profile/1",
      "name": "store-mirror",
      "camera_matrix": [[fx, 0, cx], [0, fy, cy], [0, 0, 1]],
      "dist_coeffs": [k1, k2, p1, p2, k3],
      "image_size": [width, height],
      "rms_reprojection_error_px": 0.41,
      "date": "2026-11-30T10:12:00+00:00",
      "pattern": [9, 6], "square_mm": 25.0, "views": 13
    }

Intrinsics are in pixels of ``image_size``; :meth:`CameraProfile.scaled_to` adapts them to another
resolution of the same sensor. Without a profile, :meth:`CameraProfile.default` gives the intrinsics
MediaPipe's face geometry assumes (63° vertical field of view, principal point at the centre).
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: Folder of this package, where named camera profiles (``<name>.json``) can also be kept.
PACKAGE_DIR = Path(__file__).resolve().parent
FORMAT = "tryon-camera-profile/1"
#: Environment variable naming an extra folder searched for named profiles.
ENV_VAR = "TRYON_CALIBRATION_DIR"
#: MediaPipe's face geometry pipeline assumes a perspective camera with this vertical field of view
#: (``face_geometry`` ``PerspectiveCamera.vertical_fov_degrees = 63.0`` in its graph options).
MEDIAPIPE_VERTICAL_FOV_DEG = 63.0


class ProfileError(ValueError):
    """A camera profile cannot be found or has bad data; the message says which and what to do."""


@dataclass(frozen=True)
class CameraProfile:
    """Intrinsics of one camera at one resolution.

    camera_matrix : (3, 3) float64, pixels of ``image_size``
    dist_coeffs : (n,) float64, OpenCV distortion coefficients (k1, k2, p1, p2[, k3, ...]); n in 4..14
    image_size : (width, height) in pixels
    rms_px : RMS reprojection error of the calibration (NaN for a default profile)
    """

    name: str
    camera_matrix: np.ndarray
    dist_coeffs: np.ndarray
    image_size: tuple[int, int]
    rms_px: float = float("nan")
    date: str = ""
    pattern: tuple[int, int] | None = None
    square_mm: float | None = None
    views: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        k = np.asarray(self.camera_matrix, dtype=np.float64)
        d = np.asarray(self.dist_coeffs, dtype=np.float64).ravel()
        if k.shape != (3, 3):
            raise ProfileError(f"camera_matrix must be 3x3, got shape {k.shape}")
        if not np.all(np.isfinite(k)) or k[0, 0] <= 0 or k[1, 1] <= 0:
            raise ProfileError(f"camera_matrix must have positive finite focal lengths, got {k.tolist()}")
        if d.size not in (0, 4, 5, 8, 12, 14) or not np.all(np.isfinite(d)):
            raise ProfileError(f"dist_coeffs must be 4, 5, 8, 12 or 14 finite numbers, got {d.tolist()}")
        w, h = (int(v) for v in self.image_size)
        if w <= 0 or h <= 0:
            raise ProfileError(f"image_size must be positive (width, height), got {self.image_size}")
        object.__setattr__(self, "camera_matrix", k)
        object.__setattr__(self, "dist_coeffs", d)
        object.__setattr__(self, "image_size", (w, h))

    @classmethod
    def default(
        cls, width: int, height: int, vertical_fov_deg: float = MEDIAPIPE_VERTICAL_FOV_DEG
    ) -> CameraProfile:
        """The uncalibrated intrinsics MediaPipe assumes: square pixels, centred principal point."""
        f = 0.5 * height / math.tan(math.radians(vertical_fov_deg) / 2.0)
        k = np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])
        return cls(
            name=f"default-{vertical_fov_deg:g}deg",
            camera_matrix=k,
            dist_coeffs=np.zeros(5),
            image_size=(width, height),
        )

    @property
    def is_default(self) -> bool:
        return self.name.startswith("default-")

    @property
    def fx(self) -> float:
        return float(self.camera_matrix[0, 0])

    @property
    def fy(self) -> float:
        return float(self.camera_matrix[1, 1])

    @property
    def cx(self) -> float:
        return float(self.camera_matrix[0, 2])

    @property
    def cy(self) -> float:
        return float(self.camera_matrix[1, 2])

    def scaled_to(self, width: int, height: int) -> CameraProfile:
        """The same camera delivering ``width`` x ``height`` frames.

        Focal lengths and principal point scale with each axis (a resized stream). When the aspect
        ratio changes the camera usually crops as well, which plain scaling cannot know: a warning is
        logged and the profile should be recalibrated at that resolution.
        """
        if width <= 0 or height <= 0:
            raise ValueError(f"width and height must be positive, got {width}x{height}")
        w0, h0 = self.image_size
        if (width, height) == (w0, h0):
            return self
        sx, sy = width / w0, height / h0
        if abs(sx / sy - 1.0) > 0.01:
            log.warning(
                "camera profile %r was calibrated at %dx%d; scaling it to %dx%d changes the aspect ratio "
                "(the camera probably crops): calibrate at %dx%d for accurate measurements",
                self.name,
                w0,
                h0,
                width,
                height,
                width,
                height,
            )
        k = self.camera_matrix.copy()
        # Pixel centres: a pixel-centre coordinate c maps to (c + 0.5) * s - 0.5.
        k[0, 0] *= sx
        k[1, 1] *= sy
        k[0, 2] = (k[0, 2] + 0.5) * sx - 0.5
        k[1, 2] = (k[1, 2] + 0.5) * sy - 0.5
        return CameraProfile(
            self.name,
            k,
            self.dist_coeffs.copy(),
            (width, height),
            self.rms_px,
            self.date,
            self.pattern,
            self.square_mm,
            self.views,
            dict(self.extra),
        )

    def vertical_fov_deg(self) -> float:
        return math.degrees(2.0 * math.atan(0.5 * self.image_size[1] / self.fy))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": FORMAT,
            "name": self.name,
            "camera_matrix": self.camera_matrix.tolist(),
            "dist_coeffs": self.dist_coeffs.tolist(),
            "image_size": list(self.image_size),
            "rms_reprojection_error_px": None if math.isnan(self.rms_px) else round(float(self.rms_px), 4),
            "date": self.date,
        }
        if self.pattern is not None:
            out["pattern"] = list(self.pattern)
        if self.square_mm is not None:
            out["square_mm"] = float(self.square_mm)
        if self.views is not None:
            out["views"] = int(self.views)
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "profile") -> CameraProfile:
        if not isinstance(data, dict):
            raise ProfileError(f"{source}: a camera profile must be a JSON object")
        fmt = data.get("format", FORMAT)
        if fmt != FORMAT:
            raise ProfileError(f"{source}: unknown format {fmt!r} (expected {FORMAT!r})")
        missing = [k for k in ("camera_matrix", "dist_coeffs", "image_size") if k not in data]
        if missing:
            raise ProfileError(
                f"{source}: missing field(s) {', '.join(missing)}; recalibrate with `tryon calibrate`"
            )
        try:
            size = data["image_size"]
            if len(size) != 2:
                raise ProfileError(f"{source}: image_size must be [width, height], got {size!r}")
            rms = data.get("rms_reprojection_error_px")
            pattern = data.get("pattern")
            known = {
                "format",
                "name",
                "camera_matrix",
                "dist_coeffs",
                "image_size",
                "rms_reprojection_error_px",
                "date",
                "pattern",
                "square_mm",
                "views",
            }
            return cls(
                name=str(data.get("name") or Path(source).stem),
                camera_matrix=np.asarray(data["camera_matrix"], dtype=np.float64),
                dist_coeffs=np.asarray(data["dist_coeffs"], dtype=np.float64),
                image_size=(int(size[0]), int(size[1])),
                rms_px=float("nan") if rms is None else float(rms),
                date=str(data.get("date", "")),
                pattern=None if pattern is None else (int(pattern[0]), int(pattern[1])),
                square_mm=None if data.get("square_mm") is None else float(data["square_mm"]),
                views=None if data.get("views") is None else int(data["views"]),
                extra={k: v for k, v in data.items() if k not in known},
            )
        except ProfileError as exc:
            if str(exc).startswith(source):
                raise
            raise ProfileError(f"{source}: {exc}") from exc
        except (TypeError, ValueError) as exc:
            raise ProfileError(f"{source}: bad camera profile data ({exc})") from exc

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the profile as JSON (creating the folder); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        log.info("camera profile %r written to %s", self.name, path)
        return path


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def search_dirs() -> list[Path]:
    """Folders searched for a profile given by name: ``$TRYON_CALIBRATION_DIR``, ``./calibration``,
    and this package's folder."""
    dirs = []
    if os.environ.get(ENV_VAR):
        dirs.append(Path(os.environ[ENV_VAR]).expanduser())
    dirs += [Path.cwd() / "calibration", PACKAGE_DIR]
    unique: list[Path] = []
    for d in dirs:
        if d.resolve() not in [u.resolve() for u in unique]:
            unique.append(d)
    return unique


def available_profiles() -> list[str]:
    """Names of the profiles found in :func:`search_dirs`."""
    names = set()
    for d in search_dirs():
        if d.is_dir():
            for p in d.glob("*.json"):
                try:
                    if json.loads(p.read_text(encoding="utf-8")).get("format") == FORMAT:
                        names.add(p.stem)
                except (OSError, ValueError, AttributeError):
                    continue
    return sorted(names)


def resolve_profile_path(path_or_name: str | os.PathLike[str]) -> Path:
    """The file of a profile given as a path or as a name (``store-mirror``)."""
    candidate = Path(path_or_name).expanduser()
    if candidate.is_file():
        return candidate
    text = str(path_or_name)
    if os.sep not in text and "/" not in text:
        stem = text[:-5] if text.endswith(".json") else text
        for d in search_dirs():
            p = d / f"{stem}.json"
            if p.is_file():
                return p
    known = available_profiles()
    hint = f" Known profiles: {', '.join(known)}." if known else ""
    raise ProfileError(
        f"No camera profile {text!r}: give the path of a JSON file written by `tryon calibrate`, or the name "
        f"of one in {', '.join(str(d) for d in search_dirs())}.{hint}"
    )


def load_profile(path_or_name: str | os.PathLike[str]) -> CameraProfile:
    """Load a camera profile from a JSON path or by name (see :func:`search_dirs`)."""
    path = resolve_profile_path(path_or_name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ProfileError(f"{path}: not valid JSON ({exc}); recalibrate with `tryon calibrate`") from exc
    return CameraProfile.from_dict(data, source=str(path))


def profile_for(
    profile: CameraProfile | str | os.PathLike[str] | None, width: int, height: int
) -> CameraProfile:
    """The profile to use for ``width`` x ``height`` frames: a given one scaled, or the default."""
    if profile is None:
        return CameraProfile.default(width, height)
    if not isinstance(profile, CameraProfile):
        profile = load_profile(profile)
    return profile.scaled_to(width, height)
