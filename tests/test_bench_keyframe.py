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


def test_aa_cost_runs_each_timed_mode_without_and_with_the_method(tmp_path: Path, face_model: Path) -> None:
    """``--aa-cost coverage``: each timed mode again without anti-aliasing and with coverage, the
    renderers' own choice recorded (so the "with" run really anti-aliased), the difference of this
    run's render + composite means, and the edge-cost targets measured at 1280x720 only."""
    from tryon.cli import main

    out = tmp_path / "aa.json"
    argv = ["--face-model", str(face_model), "bench", "--frames", "12", "--warmup", "2"]
    argv += ["--resolutions", "640x480", "--modes", "baseline,reuse", "--rounds", "2", "--aa-cost"]
    argv += ["coverage", "--source", str(shared_file("video", "webcam_office_640x480.avi"))]
    assert main([*argv, "--no-progress", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    jsonschema.validate(result, json.loads((ROOT / "benchmarks" / "schema.json").read_text()))
    (res,) = result["resolutions"]
    cost = res["video_aa_cost"]
    assert cost["method"] == "coverage" and set(cost["modes"]) == {"reuse"}  # not the baseline
    reuse = cost["modes"]["reuse"]
    assert reuse["video_aa"] == ["none", "coverage"]
    without, with_aa = reuse["render_composite_ms"]
    assert without > 0 and with_aa > 0
    assert reuse["extra_render_composite_ms"] == pytest.approx(with_aa - without, abs=2e-3)
    assert len(reuse["rounds_extra_render_composite_ms"]) == 2
    assert res["modes"]["baseline"]["video_aa"] == "none"
    targets = {t["id"]: t["status"] for t in result["targets"]}
    assert targets["coverage_aa_cost_1280_720_live"] == "not_measured"  # 1280x720 did not run


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--aa-cost", "none"], "invalid choice: 'none'"),
        (["--aa-cost", "coverage", "--modes", "baseline"], "--aa-cost needs a timed mode"),
    ],
)
def test_bad_aa_cost_options_are_refused(
    argv: list[str], message: str, face_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tryon.cli import main

    try:
        code = main(["--face-model", str(face_model), "bench", "--no-progress", *argv])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    assert message in capsys.readouterr().err
