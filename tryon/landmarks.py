"""Indices into MediaPipe's 478-point face landmarks (and the canonical mesh for ``i < 468``).

"Left" and "right" are the person's own. Source: MediaPipe face mesh topology
(``canonical_face_model_uv_visualization.png``) and the iris model (points 468-477).
"""

NUM_LANDMARKS = 478
NUM_MESH_VERTICES = 468

NOSE_BRIDGE = 168  # between the eyes, where a frame's bridge rests; canonical (0, 3.27, 5.24) cm
NOSE_TIP = 1
FOREHEAD = 10
CHIN = 152

RIGHT_EYE_OUTER = 33
RIGHT_EYE_INNER = 133
LEFT_EYE_INNER = 362
LEFT_EYE_OUTER = 263
RIGHT_EYE_TOP, RIGHT_EYE_BOTTOM = 159, 145
LEFT_EYE_TOP, LEFT_EYE_BOTTOM = 386, 374

RIGHT_IRIS_CENTER = 468
RIGHT_IRIS_RING = (469, 470, 471, 472)
LEFT_IRIS_CENTER = 473
LEFT_IRIS_RING = (474, 475, 476, 477)

RIGHT_TEMPLE, LEFT_TEMPLE = 127, 356  # face outline at temple height
RIGHT_FACE_SIDE, LEFT_FACE_SIDE = 234, 454  # face sides near the ears; canonical (∓7.66, 0.67, −2.44) cm
RIGHT_CHEEKBONE, LEFT_CHEEKBONE = 123, 352
RIGHT_JAW, LEFT_JAW = 172, 397
