"""Keeps ``tryon bench`` working: a few frames at 640x480 through the real pipeline, JSON validated.

This is not a benchmark: no assertion here is about how fast anything ran.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from bench_helpers import short_web_run
from shared_data import shared_file


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory, face_model: Path) -> tuple[int, dict, Path]:
    from tryon.cli import main

    video = shared_file("video", "webcam_office_640x480.avi")
    out = tmp_path_factory.mktemp("bench")
    code = main(
        [
            "--face-model",
            str(face_model),
            "bench",
            "--frames",
            "10",
            "--warmup",
            "2",
            "--resolutions",
            "640x480",
            "--modes",
            "baseline,pipelined",
            "--source",
            str(video),
            "--no-progress",
            "--json",
            str(out / "result.json"),
            "--chart",
            str(out / "result.png"),
        ]
    )
    return code, json.loads((out / "result.json").read_text()), out


def test_bench_writes_a_result_that_follows_the_schema(bench_run) -> None:
    code, result, out = bench_run
    assert code == 0
    schema = json.loads((Path(__file__).resolve().parents[1] / "benchmarks" / "schema.json").read_text())
    jsonschema.validate(result, schema)
    assert (out / "result.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_measures_real_frames_of_the_clip(bench_run) -> None:
    _, result, _ = bench_run
    (res,) = result["resolutions"]
    assert res["resolution"] == "640x480" and res["input"]["source_size"] == "640x480"
    assert set(res["modes"]) == {"baseline", "pipelined"}
    for run in res["modes"].values():
        assert run["frames"] == 10
        assert run["face_found_fraction"] == 1.0  # a face in every frame of the webcam clip
        assert run["stages_ms"]["track"]["n"] == 10 and run["stages_ms"]["render"]["p50"] > 0
        assert run["latency_ms"]["p50"] >= run["stages_ms"]["track"]["p50"]
    # The speed-up is the ratio of the two measured throughputs of this run (3 decimals), and nothing
    # is claimed for the mode that did not run.
    fps = {mode: run["fps"] for mode, run in res["modes"].items()}
    ratio = fps["pipelined"] / fps["baseline"]
    assert res["speedup"]["pipelined_vs_baseline"] == pytest.approx(ratio, rel=5e-3)
    assert res["speedup"]["sequential_vs_baseline"] is None
    assert result["machine"]["gl"]["renderer"]  # the GL renderer string is recorded
    assert result["model"]["frame_id"] and result["model"]["triangles"] > 100
    targets = {t["id"]: t for t in result["targets"]}
    # The 640x480 target of the benchmark issue, by hand: pipelined throughput of at least 90 fps.
    fps_target = targets["fps_640_480"]
    assert (fps_target["op"], fps_target["threshold"]) == (">=", 90)
    assert fps_target["value"] == pytest.approx(fps["pipelined"], abs=1e-3)
    assert fps_target["status"] == ("met" if fps["pipelined"] >= 90 else "missed")
    latency = targets["latency_p95_640_480"]
    p95 = res["modes"]["pipelined"]["latency_ms"]["p95"]
    assert latency["status"] == ("met" if p95 <= 20 else "missed"), (latency, p95)
    # What this run did not measure is said so, not guessed.
    assert targets["fps_1280_720"]["status"] == "not_measured" and targets["fps_1280_720"]["value"] is None
    assert targets["rss_growth_3000"]["status"] == "not_measured"
    assert targets["speedup_1280_720"]["status"] == "not_measured"


def test_schema_rejects_a_result_without_measurements(bench_run) -> None:
    _, result, _ = bench_run
    broken = json.loads(json.dumps(result))
    del broken["resolutions"][0]["modes"]["pipelined"]["latency_ms"]
    with pytest.raises(jsonschema.ValidationError):
        from benchmarks.report import validate

        validate(broken)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--resolutions", "640by480"], "WIDTHxHEIGHT"),
        (["--modes", "turbo"], "unknown mode"),
    ],
)
def test_bench_rejects_bad_options(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    from tryon.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["bench", *argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_bench_names_a_missing_source_and_an_unknown_frame(
    tmp_path: Path, face_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tryon.cli import main

    code = main(
        [
            "--face-model",
            str(face_model),
            "bench",
            "--frames",
            "1",
            "--source",
            str(tmp_path / "nope.avi"),
            "--no-progress",
            "--resolutions",
            "640x480",
            "--modes",
            "sequential",
        ]
    )
    assert code == 2 and "nope.avi does not exist" in capsys.readouterr().err
    code = main(
        [
            "--face-model",
            str(face_model),
            "bench",
            "--frames",
            "1",
            "--frame",
            "milano-roud",
            "--no-progress",
            "--resolutions",
            "640x480",
            "--modes",
            "sequential",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "milano-roud" in err and "milano-round" in err


def test_resizing_keeps_the_aspect_ratio() -> None:
    """A 4:3 picture brought to 16:9 is cropped (or letterboxed), never stretched: a circle stays round."""
    import cv2
    import numpy as np

    from benchmarks.inputs import fit_frame

    image = np.zeros((480, 640, 3), np.uint8)
    cv2.circle(image, (320, 240), 100, (255, 255, 255), -1)
    for fit in ("crop", "letterbox"):
        out = fit_frame(image, (1280, 720), fit)
        assert out.shape == (720, 1280, 3)
        ys, xs = np.nonzero(out[:, :, 0] > 127)
        width, height = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
        assert abs(width - height) <= 2, (fit, width, height)
    assert fit_frame(image, (640, 480)) is image


def test_sweep_models_have_about_the_asked_triangle_counts() -> None:
    from benchmarks.meshes import sweep_model

    for target in (1000, 10000):
        model = sweep_model("milano-round", target).model
        assert abs(model.triangle_count - target) <= 0.05 * target
        assert {p.role for p in model.parts} >= {"front", "temple", "lens"}
        assert set(model.anchors) >= {"bridge", "lens_center_left", "lens_center_right"}


def test_web_load_generator_against_a_real_server(shared: Path, face_model: Path) -> None:
    """One client for a moment against the app served by gunicorn: frames come back, none dropped."""
    web = short_web_run(face_model, clients=1)
    (level,) = web["levels"]
    (client,) = level["per_client"]
    assert client["frames_answered"] > 0 and client["dropped"] == 0 and client["failure"] is None
    assert client["face_found_fraction"] == 1.0
    assert level["server_ms"]["n"] == client["frames_answered"]
    assert level["server_stages_ms"]["track"]["p50"] > 0
