"""The ``tryon`` command line: one sub-command per job.

Sub-commands that belong to other packages (``frames`` from models3d, ``serve`` from web,
``calibrate``/``measure`` from calibration, ``bench`` from benchmarks) are registered here by module
name and imported only when that package is installed, so the core never imports Flask.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

log = logging.getLogger(__name__)

#: (module, attribute) pairs; each ``register(subparsers)`` adds its sub-commands.
_EXTERNAL_COMMANDS = (
    "tryon.commands",
    "models3d.cli",
    "web.cli",
    "web.store.cli",
    "web.care.cli",
    "calibration.cli",
    "benchmarks.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tryon", description="Augmented-reality eyewear try-on.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    parser.add_argument("--face-model", metavar="PATH", help="face_landmarker.task (else $TRYON_FACE_MODEL)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module_name in _EXTERNAL_COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that package is not part of this installation
            raise
        module.register(sub)
    return parser


def _set_opencv_logging(verbose: int) -> None:
    """OpenCV's own log lines (camera back-ends probing devices, FFmpeg's complaints) only with
    ``--verbose``: without it the command's one-line errors say what went wrong."""
    import cv2

    levels = {0: cv2.utils.logging.LOG_LEVEL_FATAL, 1: cv2.utils.logging.LOG_LEVEL_WARNING}
    cv2.utils.logging.setLogLevel(levels.get(verbose, cv2.utils.logging.LOG_LEVEL_INFO))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    _set_opencv_logging(args.verbose)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
