"""Where frame space sits on MediaPipe's canonical face.

The canonical face (cm) has the nose bridge (landmark 168) at (0, 3.27, 5.24), the iris centres
(468/473) at (∓3.18, 2.64, 3.83) and the face sides near the ears (234/454) at (∓7.66, 0.67, −2.44).
A frame's lens boxing centres sit a little below pupil height, and its back plane about 12 mm
(the usual vertex distance) in front of the cornea, which is itself about 3 mm in front of the iris
landmarks. MediaPipe's own face-effect glasses (``glasses.pbtxt``) put their front at z ≈ 4.9-6.1 cm,
which agrees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MM_TO_CM = 0.1


@dataclass(frozen=True)
class FacePlacement:
    """Frame-space origin in canonical face coordinates (cm).

    lens_center_y_cm : height of the lens boxing centres (pupils are at 2.64)
    back_plane_z_cm : depth of the frame front's back plane (cornea ≈ 4.1 + 1.2 vertex distance)
    """

    lens_center_y_cm: float = 2.45
    back_plane_z_cm: float = 5.3

    def matrix(self) -> np.ndarray:
        """(4, 4) float64 frame space (cm) -> canonical face (cm)."""
        m = np.eye(4)
        m[1, 3] = self.lens_center_y_cm
        m[2, 3] = self.back_plane_z_cm
        return m

    def frame_to_face_mm(self) -> np.ndarray:
        """(4, 4) float64 frame space (mm) -> canonical face (cm)."""
        return self.matrix() @ np.diag([MM_TO_CM, MM_TO_CM, MM_TO_CM, 1.0])
