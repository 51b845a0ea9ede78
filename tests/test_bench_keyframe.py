"""``tryon bench`` with the keyframe mode beside the every-frame pipelined loop (issue #16).

Not a benchmark: nothing here is about how fast anything ran, only that the figures are there and
are what they say (ratios of this run's throughputs, CPU time per counted frame, both JPEG libraries
on the same frames, the frame's triangle count).
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from shared_data import shared_file

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory, face_model: Path) -> dict:
    from tryon.cli import main

    out = tmp_path_factory.mktemp("bench") / "result.json"
    code = main(
        [
            "--face-model",
            str(face_model),
            "bench",
            "--frames",
            "24",
            "--warmup",
            "2",
            "--resolutions",
            "640x480",
            "--modes",
            "pipelined,keyframe",
            "--source",
            str(shared_file("video", "webcam_office_640x480.avi")),
            "--no-progress",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    return json.loads(out.read_text())


def test_keyframe_mode_beside_pipelined(result: dict) -> None:
    jsonschema.validate(result, json.loads((ROOT / "benchmarks" / "schema.json").read_text()))
    (res,) = result["resolutions"]
    modes = res["modes"]
    assert set(modes) == {"pipelined", "keyframe"}
    ratio = modes["keyframe"]["fps"] / modes["pipelined"]["fps"]
    assert res["speedup"]["keyframe_vs_pipelined"] == pytest.approx(ratio, rel=5e-3)
    # The 26 frames include the 15 acquisition frames, which all run the landmarker; some are carried.
    kf = modes["keyframe"]["keyframes"]
    assert kf["frames"] == 26 and 15 <= kf["keyframes"] < 26
    assert "keyframes" not in modes["pipelined"]  # the every-frame loop runs the landmarker every frame
    for run in modes.values():
        cpu_s = run["cpu"]["process_user_s"] + run["cpu"]["process_system_s"]
        assert run["cpu_ms_per_frame"] == pytest.approx(cpu_s * 1000.0 / run["frames"], abs=0.01)
        assert run["cpu_ms_per_frame"] > 0


def test_frame_triangles_and_jpeg_libraries_are_reported(result: dict) -> None:
    assert result["model"]["triangles"] >= 3500  # the default re-built frame (--triangles 4000)
    assert result["model"]["geometry"] != "catalogue"
    codecs = result["resolutions"][0]["input_stages_ms"]["jpeg_codecs"]
    assert set(codecs) == {"cv2", "simplejpeg"}
    for lib in codecs.values():
        assert lib["encode"]["n"] == lib["decode"]["n"] > 0 and lib["mean_bytes"] > 1000
    targets = {t["id"]: t for t in result["targets"]}
    assert targets["keyframe_speedup_1280_720"]["status"] == "not_measured"  # 1280x720 did not run


def test_bad_triangle_count_is_refused(face_model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tryon.cli import main

    code = main(["--face-model", str(face_model), "bench", "--triangles", "5", "--no-progress"])
    assert code == 2
    assert "--triangles" in capsys.readouterr().err
