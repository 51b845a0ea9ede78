"""``flask --app web ...`` commands: init, create-staff, send-reminders (plus Flask-Migrate's ``db``)."""

from __future__ import annotations

from datetime import date

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from .auth.forms import EMAIL_RE, normalise_email
from .auth.passwords import hash_password
from .extensions import db
from .models import User


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Prepare the instance: newest schema, demo stores when there are none, secret key (same as
    ``tryon web init``). Safe to run again, and from several processes at once."""
    from .startup import StartupError, initialise

    try:
        report = initialise(current_app, migrate=True)
    except StartupError as exc:
        raise click.ClickException(f"tryon web cannot start: {exc}") from exc
    click.echo(f"instance {current_app.instance_path} ready; {report.summary()}")


@click.command("create-staff")
@click.argument("email")
@click.option("--name", default=None, help="Display name (default: the part of EMAIL before '@').")
@click.option("--password", default=None, help="Password (prompted for when not given; prefer the prompt).")
@with_appcontext
def create_staff(email: str, name: str | None, password: str | None) -> None:
    """Create a staff account, or give an existing account the staff role."""
    email = normalise_email(email)
    if not EMAIL_RE.match(email):
        raise click.BadParameter(f"{email!r} is not an e-mail address", param_hint="EMAIL")
    user = db.session.scalar(select(User).where(User.email == email))
    minimum = int(current_app.config["PASSWORD_MIN_LENGTH"])
    if user is None and password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if password is not None and len(password) < minimum:
        raise click.BadParameter(f"use at least {minimum} characters", param_hint="--password")
    if user is None:
        user = User(
            email=email, name=name or email.split("@")[0], role="staff", password_hash=hash_password(password)
        )
        db.session.add(user)
        action = "created"
    else:
        user.role = "staff"
        if name:
            user.name = name
        if password is not None:
            user.password_hash = hash_password(password)
        action = "updated"
    db.session.commit()
    click.echo(f"staff account {email} {action}")


@click.command("send-reminders")
@click.option("--date", "day", default=None, help="Store-local day YYYY-MM-DD (default: tomorrow).")
@with_appcontext
def send_reminders_command(day: str | None) -> None:
    """E-mail a reminder for every fitting of the given day (default tomorrow), once each."""
    from .notify import send_reminders

    try:
        wanted = date.fromisoformat(day) if day else None
    except ValueError as exc:
        raise click.BadParameter(f"{day!r} is not a date like 2026-12-03", param_hint="--date") from exc
    base_url = current_app.config.get("PUBLIC_BASE_URL") or "http://localhost:5000"
    with current_app.test_request_context("/", base_url=base_url):
        entries = send_reminders(wanted)
    failed = [e for e in entries if e.status != "sent"]
    click.echo(f"{len(entries) - len(failed)} reminder(s) sent, {len(failed)} failed")
    if failed:
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    app.cli.add_command(init_command)
    app.cli.add_command(create_staff)
    app.cli.add_command(send_reminders_command)
