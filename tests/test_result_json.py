"""One serialisation of a try-on result, shared by the command line, the web API and the live socket.

On a real two-face photo: the JSON anchors are the rendered anchors to 1/100 px, the per-face anchors
list (what the web API's ``anchors`` / ``X-Tryon-Anchors`` and the live socket's ``anchors`` send) is the
same as the ``anchors_px`` inside ``faces``, and wall times carry two decimals.
"""

from __future__ import annotations

import json
from pathlib import Path

from core_helpers import catalogue_model

from tryon.images import read_image
from tryon.pipeline import MS_DECIMALS, PX_DECIMALS, PipelineOptions, TryOnPipeline, round_ms


def test_result_json_has_one_rounding(face_model: Path, shared: Path) -> None:
    with TryOnPipeline(catalogue_model(), PipelineOptions(max_faces=2, running_mode="image")) as pipe:
        result = pipe.process(read_image(shared / "faces" / "two_people.jpg"))
    body = json.loads(json.dumps(result.to_json()))
    assert len(body["faces"]) == 2
    assert result.anchors_json() == [f["anchors_px"] for f in body["faces"]]
    for face, face_json in zip(result.faces, body["faces"], strict=True):
        assert face_json["bbox"] == list(face.bbox)
        for name, (x, y) in face.anchors_px.items():
            jx, jy = face_json["anchors_px"][name]
            half_step = 0.5 * 10**-PX_DECIMALS + 1e-9
            assert abs(jx - x) <= half_step and abs(jy - y) <= half_step
            assert round(jx, PX_DECIMALS) == jx and round(jy, PX_DECIMALS) == jy
    assert set(body["timings_ms"]) == set(result.timings_ms)
    assert all(round(v, MS_DECIMALS) == v for v in body["timings_ms"].values())
    assert round_ms({"a": 1.23456, "b": 2}) == {"a": 1.23, "b": 2.0}
