"""Camera calibration and face measurement for the try-on.

* :mod:`calibration.chessboard`, :mod:`calibration.pattern`, :mod:`calibration.capture`: calibrate a
  store camera once from views of a printed chessboard; :mod:`calibration.profile` saves and loads
  the resulting named camera profile (``calibration/<name>.json``).
* :mod:`calibration.pose`: the head pose from the landmarks with calibrated intrinsics (solvePnP).
* :mod:`calibration.iris`, :mod:`calibration.card`, :mod:`calibration.pd`,
  :mod:`calibration.face_width`, :mod:`calibration.session`: pupillary distance (near and far) and
  face width in millimetres with 95% intervals, scaled by the iris or by a payment card.
* :mod:`calibration.face_shape`, :mod:`calibration.advice`: face shape and frame-size advice.

See ``docs/measurement.md`` for the method and its measured accuracy.
"""
