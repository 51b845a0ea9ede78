"""Commands of the care phase, for both command lines:

* ``flask --app web recalls run [--dry-run]`` and ``tryon recalls run [--dry-run]``: the recalls job
  (:mod:`web.care.recalls`), also releasing expired reservation holds; for cron or a systemd timer;
* ``flask --app web labels --store ID -o labels.pdf`` and ``tryon labels --store ID -o labels.pdf``:
  the A4 sheet of QR shelf labels (:mod:`web.care.labels`);
* ``flask --app web stock set STORE FRAME QUANTITY [--size S] [--colour C]`` and ``stock seed``: the
  units a store can hold for click & collect.

Exit status 0 on success, 1 when some reminder could not be delivered, 2 with one line on stderr
for bad input (``tryon: error: ...``).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from . import bp


def _fail(message: str, code: int = 2) -> int:
    print(f"tryon: error: {message}", file=sys.stderr)
    return code


def _base_url() -> str:
    return current_app.config.get("PUBLIC_BASE_URL") or "http://localhost:5000"


def run_recalls(dry_run: bool, now: datetime | None = None) -> tuple[list[str], int]:
    """One pass of the job in the current app context; the lines to print and the exit status."""
    from .recalls import release_expired_holds, run

    with current_app.test_request_context("/", base_url=_base_url()):
        report = run(now, dry_run=dry_run)
        released = 0 if dry_run else release_expired_holds(now)
    lines = [
        f"{o.status:<17} {o.key:<40} user {o.user_id}  {','.join(o.channels) or '-'}" for o in report.outcomes
    ]
    lines.append(f"recalls{' (dry run)' if dry_run else ''}: {report.summary()}")
    if not dry_run:
        lines.append(f"reservations: {released} expired hold(s) released")
    return lines, 1 if report.count("failed") else 0


def write_labels(store_id: str, output: Path, base_url: str | None, locale: str) -> int:
    """Write the labels PDF; returns the number of bytes written. Raises LabelError."""
    from .labels import public_base_url, render_labels

    base = public_base_url(base_url)
    with current_app.test_request_context("/", base_url=base):
        data = render_labels(store_id, locale=locale)
    output.write_bytes(data)
    return len(data)


def _parse_now(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a time like 2026-12-03T10:00 (UTC)") from None


# -- flask --app web ... -------------------------------------------------------------------------------
@click.group("recalls")
def recalls_group() -> None:
    """Reminders and recalls (contact lenses, eye exams, frame adjustments, fittings)."""


@recalls_group.command("run")
@click.option("--dry-run", is_flag=True, help="List what would go out; send and write nothing.")
@click.option("--now", "now_text", default=None, help="Pretend it is this UTC time (YYYY-MM-DDTHH:MM).")
@with_appcontext
def recalls_run_command(dry_run: bool, now_text: str | None) -> None:
    """Send every reminder due now, each once, on the channels the customer agreed to."""
    try:
        lines, status = run_recalls(dry_run, _parse_now(now_text))
    except ValueError as exc:  # SMS_BACKEND that cannot be loaded
        raise click.ClickException(str(exc)) from exc
    for line in lines:
        click.echo(line)
    if status:
        raise SystemExit(status)


@click.command("labels")
@click.option("--store", "store_id", required=True, help="Store id (e.g. milano-brera).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--base-url", default=None, help="Public address of the site (default PUBLIC_BASE_URL).")
@click.option("--lang", type=click.Choice(["en", "it"]), default="en", show_default=True)
@with_appcontext
def labels_command(store_id: str, output: Path, base_url: str | None, lang: str) -> None:
    """Print the A4 sheet of QR shelf labels of a store."""
    from .labels import LabelError

    try:
        size = write_labels(store_id, output, base_url, lang)
    except (LabelError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{output}: {size} bytes")


@click.group("stock")
def stock_group() -> None:
    """Units each store can hold for click & collect."""


@stock_group.command("set")
@click.argument("store_id")
@click.argument("frame_id")
@click.argument("quantity", type=int)
@click.option("--size", default=None, help="Size label (default: the frame's default size).")
@click.option("--colour", default=None, help="Colour id (default: the frame's default colour).")
@with_appcontext
def stock_set_command(
    store_id: str, frame_id: str, quantity: int, size: str | None, colour: str | None
) -> None:
    """Set the available units of one frame variant at a store."""
    from .reservations import ReservationError, set_stock

    try:
        with current_app.test_request_context("/"):  # messages are translated (English here)
            item = set_stock(store_id, frame_id, size, colour, quantity)
    except ReservationError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{item.store_id} {item.frame_id} {item.size_label} {item.colour_id}: {item.available}")


@stock_group.command("seed")
@with_appcontext
def stock_seed_command() -> None:
    """Take the catalogue's per-store counts when no stock is recorded yet."""
    from .reservations import seed_stock_from_catalogue

    click.echo(f"{seed_stock_from_catalogue()} stock row(s) added")


@bp.record_once
def _register_flask_commands(state) -> None:
    app: Flask = state.app
    for command in (recalls_group, labels_command, stock_group):
        app.cli.add_command(command)


# -- tryon ... ---------------------------------------------------------------------------------------
def register(subparsers: argparse._SubParsersAction) -> None:
    recalls = subparsers.add_parser("recalls", help="reminders and recalls of the web site's customers")
    recalls_sub = recalls.add_subparsers(dest="recalls_command", metavar="ACTION")
    recalls_sub.required = True
    run = recalls_sub.add_parser(
        "run",
        help="send every reminder due now, each once (for cron or a systemd timer)",
        description="Send the reminders due now (contact lenses running out, eye exam due, frame "
        "adjustment, fitting tomorrow) on the channels each customer agreed to, outside the store's quiet "
        "hours, each at most once even when run twice or concurrently; release expired reservation holds. "
        "Uses the web site's configuration (TRYON_* variables, instance folder).",
    )
    run.add_argument("--dry-run", action="store_true", help="list what would go out; send and write nothing")
    run.set_defaults(func=recalls_main)

    labels = subparsers.add_parser(
        "labels",
        help="print a store's QR shelf labels (A4 PDF)",
        description="An A4 sheet of labels, one per frame the store stocks: name, price, sizes and a QR "
        "code opening the frame's page and live try-on (with ?store=ID&src=label).",
    )
    labels.add_argument("--store", required=True, help="store id, e.g. milano-brera")
    labels.add_argument("-o", "--output", required=True, type=Path, help="PDF file to write")
    labels.add_argument("--base-url", default=None, help="public address of the site (else PUBLIC_BASE_URL)")
    labels.add_argument("--lang", choices=("en", "it"), default="en", help="language of the labels")
    labels.set_defaults(func=labels_main)


def _app():
    from .. import build_app
    from ..startup import StartupError

    try:
        return build_app()
    except StartupError as exc:
        raise SystemExit(_fail(f"the site cannot start: {exc}")) from None


def recalls_main(args: argparse.Namespace) -> int:
    app = _app()
    with app.app_context():
        try:
            lines, status = run_recalls(args.dry_run)
        except ValueError as exc:  # SMS_BACKEND that cannot be loaded
            return _fail(str(exc))
    for line in lines:
        print(line, flush=True)
    return status


def labels_main(args: argparse.Namespace) -> int:
    from .labels import LabelError

    app = _app()
    with app.app_context():
        try:
            size = write_labels(args.store, args.output, args.base_url, args.lang)
        except LabelError as exc:
            return _fail(str(exc))
        except OSError as exc:
            return _fail(f"cannot write {args.output}: {exc.strerror or exc}")
    print(f"{args.output}: {size} bytes", flush=True)
    return 0
