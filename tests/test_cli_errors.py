"""The command line's errors: one prefix (``tryon: error:``) whichever package a sub-command comes
from, and "did you mean" only for ids that are close to a real one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tryon.cli import main

PREFIX = "tryon: error: "


def _error_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


def test_a_typo_gets_the_close_id(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frames", "show", "perla-ova"]) == 2
    (line,) = _error_lines(capsys)
    assert line.startswith(PREFIX + "unknown frame 'perla-ova'; did you mean 'perla-oval'")


def test_an_unrelated_name_gets_no_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    """'ray-ban' is not in the catalogue and looks like none of its ids: no "did you mean", only the
    list of what there is."""
    assert main(["frames", "show", "ray-ban"]) == 2
    (line,) = _error_lines(capsys)
    assert line.startswith(PREFIX + "unknown frame 'ray-ban' (available: ")
    assert "did you mean" not in line
    assert "perla-oval" in line  # listed among the available ids, not suggested


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["render", "{tmp}/missing.png", "-o", "{tmp}/out.png"], "missing.png"),
        (["frames", "show", "nope"], "unknown frame 'nope'"),
        (["calibrate", "--pattern", "9x6", "-o", "{tmp}/x.json"], "--images"),
        (["calibrate", "--images", "{tmp}", "-o", "{tmp}/x.txt"], ".json"),
        (["serve", "--port", "0"], "--port must be between 1 and 65535, not 0"),
        (["bench", "--frames", "1", "--source", "{tmp}/nope.avi", "--no-progress"], "nope.avi does not"),
    ],
    ids=["tryon", "models3d", "calibration-images", "calibration-output", "web", "benchmarks"],
)
def test_every_sub_command_uses_one_prefix(
    args: list[str], reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert main(argv) == 2
    (line,) = _error_lines(capsys)
    assert line.startswith(PREFIX), line
    assert reason in line


def test_the_screenshot_tool_uses_the_same_kind_of_prefix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The docs' screenshot tool is its own program: argparse's ``prog: error:`` line, exit 2."""
    from web.screenshots import main as screenshots_main

    with pytest.raises(SystemExit) as exit_info:
        screenshots_main(["--video", str(tmp_path / "nope.mp4"), "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    *usage, line = _error_lines(capsys)
    assert usage and usage[0].startswith("usage: python -m web.screenshots")
    assert line == f"python -m web.screenshots: error: {tmp_path / 'nope.mp4'} does not exist"
