"""Migration 0002 on an existing SQLite database: every account and every child row survives the
rebuild of ``users``, each account gets its own session token, ids stop being reused, and a cookie
signed before the upgrade (it holds a bare id) no longer signs anyone in."""

from __future__ import annotations

import sqlite3

from alembic import command
from flask.sessions import SecureCookieSessionInterface

from web import create_app
from web.database import alembic_config
from web.extensions import db
from web.testing import app_config

_USERS = (
    "INSERT INTO users (id, email, name, password_hash, role, consent_snapshots, consent_contact, "
    "locale, created_at) VALUES (?, ?, ?, 'x', ?, 0, 0, 'en', '2026-01-01')"
)


def _app_at_0001(tmp_path):
    config = app_config(tmp_path, AUTO_MIGRATE=False, SEED_DEMO_STORES=False)
    app = create_app(config)
    with app.app_context():
        command.upgrade(alembic_config(app), "0001")
    return app


def test_upgrade_keeps_every_row_and_stops_reusing_ids(tmp_path):
    app = _app_at_0001(tmp_path)
    path = tmp_path / "instance" / "test.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA foreign_keys=ON")
        for user_id, role in ((1, "customer"), (2, "customer"), (3, "staff")):
            connection.execute(_USERS, (user_id, f"u{user_id}@example.com", f"User {user_id}", role))
        connection.execute(
            "INSERT INTO measurements (user_id, kind, value_mm, method, created_at) "
            "VALUES (2, 'pd', 63.5, 'card', '2026-01-01')"
        )
        connection.execute(
            "INSERT INTO staff_notes (customer_id, author_id, text, created_at) "
            "VALUES (2, 3, 'likes round frames', '2026-01-01')"
        )
    with app.app_context():
        command.upgrade(alembic_config(app), "head")
        db.engine.dispose()
    with sqlite3.connect(path) as connection:
        schema = connection.execute("SELECT sql FROM sqlite_master WHERE name = 'users'").fetchone()[0]
        tokens = [row[0] for row in connection.execute("SELECT session_token FROM users ORDER BY id")]
        assert connection.execute("SELECT user_id, value_mm FROM measurements").fetchall() == [(2, 63.5)]
        assert connection.execute("SELECT customer_id, author_id FROM staff_notes").fetchall() == [(2, 3)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("DELETE FROM users WHERE id = 3")
        connection.execute(
            "INSERT INTO users (email, name, password_hash, role, consent_snapshots, consent_contact, "
            "locale, created_at, session_token) VALUES ('new@example.com', 'New', 'x', 'customer', 0, 0, "
            "'en', '2026-01-01', 'a-new-token')"
        )
        new_id = connection.execute("SELECT id FROM users WHERE email = 'new@example.com'").fetchone()[0]
    assert "AUTOINCREMENT" in schema
    assert len(tokens) == 3 and len(set(tokens)) == 3 and all(len(t) >= 40 for t in tokens)
    assert new_id == 4  # not 3, the deleted one's


def test_only_a_cookie_with_the_current_token_signs_in(tmp_path):
    """A bare id (a cookie signed before the upgrade) or a wrong token opens nothing; the id with
    the account's current token does (the control that shows the cookie itself is well formed)."""
    from web.models import User
    from web.testing import create_user

    app = create_app(app_config(tmp_path))
    user_id = create_user(app, "before@example.com")
    with app.app_context():
        token = db.session.get(User, user_id).session_token
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)

    def profile_with(session_id: str) -> int:
        client = app.test_client()
        client.set_cookie("tryon_session", serializer.dumps({"_user_id": session_id, "_fresh": True}))
        return client.get("/profile/").status_code

    assert profile_with(f"{user_id}:{token}") == 200
    assert profile_with(str(user_id)) == 302
    assert profile_with(f"{user_id}:{token[::-1]}") == 302
    assert profile_with(f"{user_id + 1}:{token}") == 302
