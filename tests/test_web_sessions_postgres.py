"""Sessions that end, on PostgreSQL (``TRYON_TEST_POSTGRES_URL``; skipped without it, a failure in CI).

Each test works in a schema of its own (the ``pg_app`` fixture of the booking tests): the schema
comes from the migrations, ids are drawn from a sequence that never goes back, and a deleted
account's cookie opens nothing, not even the account registered after it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from tests import test_web_booking_postgres as _postgres
from web.extensions import db
from web.models import User
from web.testing import DEFAULT_PASSWORD, login, logout, post_form, register

pytestmark = pytest.mark.postgres

# The booking tests' fixtures: the server's URL (or a skip) and an app in a schema of its own.
postgres_url = _postgres.postgres_url
pg_app = _postgres.pg_app


def _id_of(app, email: str) -> int | None:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


def test_ids_are_not_reused_after_the_highest_is_deleted_on_postgresql(pg_app):
    client = pg_app.test_client()
    register(client, "first@example.com")
    logout(client)
    register(client, "highest@example.com")
    highest = _id_of(pg_app, "highest@example.com")
    copy = pg_app.test_client()
    copy.set_cookie("tryon_session", client.get_cookie("tryon_session").value)
    assert copy.get("/profile/").status_code == 200
    deleted = post_form(client, "/profile/delete", {"password": DEFAULT_PASSWORD, "confirm": "y"})
    assert deleted.status_code == 302 and _id_of(pg_app, "highest@example.com") is None
    newcomer = pg_app.test_client()
    register(newcomer, "newest@example.com", name="Nadia Newest")
    assert _id_of(pg_app, "newest@example.com") > highest
    replay = copy.get("/profile/")
    assert replay.status_code == 302 and "/auth/login" in replay.headers["Location"]
    assert "Nadia" not in copy.get("/profile/export").get_data(as_text=True)
    with pg_app.app_context():
        kind = db.session.execute(
            text(
                "SELECT pg_get_serial_sequence('users', 'id') IS NOT NULL, "
                "(SELECT count(DISTINCT session_token) = count(*) FROM users)"
            )
        ).one()
    assert kind == (True, True)


def test_sign_out_and_password_change_end_copied_sessions_on_postgresql(pg_app):
    client = pg_app.test_client()
    register(client, "pgsession@example.com")
    copy = pg_app.test_client()
    copy.set_cookie("tryon_session", client.get_cookie("tryon_session").value)
    assert copy.get("/profile/").status_code == 200
    logout(client)
    assert copy.get("/profile/").status_code == 302
    login(client, "pgsession@example.com")
    copy.set_cookie("tryon_session", client.get_cookie("tryon_session").value)
    new = "a brand new password"
    changed = post_form(
        client, "/auth/password", {"current": DEFAULT_PASSWORD, "password": new, "confirm": new}
    )
    assert changed.status_code == 302
    assert client.get("/profile/").status_code == 200
    assert copy.get("/profile/").status_code == 302


def test_the_same_registration_ten_times_at_once_makes_one_account_on_postgresql(pg_app):
    """Ten browsers submit one e-mail together: one account, nine clear refusals, no 500."""
    import threading

    from web.testing import csrf_token

    clients = [pg_app.test_client() for _ in range(10)]
    forms = [
        {
            "csrf_token": csrf_token(client, "/auth/register"),
            "name": "Double Click",
            "email": "twice@example.com",
            "password": DEFAULT_PASSWORD,
            "confirm": DEFAULT_PASSWORD,
            "locale": "en",
        }
        for client in clients
    ]
    barrier = threading.Barrier(len(clients))
    replies: list = [None] * len(clients)

    def submit(i: int) -> None:
        barrier.wait()
        response = clients[i].post("/auth/register", data=forms[i])
        replies[i] = (response.status_code, response.get_data(as_text=True))

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(status for status, _ in replies) == [302] + [400] * 9
    refusal = "An account with this e-mail already exists. Sign in instead."
    assert all(refusal in body for status, body in replies if status == 400)
    with pg_app.app_context():
        count = db.session.scalar(select(func.count()).where(User.email == "twice@example.com"))
    assert count == 1
