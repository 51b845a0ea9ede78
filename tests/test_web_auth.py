"""Accounts: registration, sign-in with argon2id hashes, the login rate limit, sign-out, staff accounts."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from web.config import DefaultConfig
from web.extensions import db
from web.models import User
from web.testing import (
    DEFAULT_PASSWORD,
    create_user,
    csrf_token,
    login,
    logout,
    make_app,
    post_form,
    register,
)


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


def _user(app, email: str) -> User | None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


def test_register_signs_in_and_stores_an_argon2id_hash(app):
    client = app.test_client()
    response = register(client, "Ada@Example.com", name="Ada Lovelace", phone="+39 02 1234-567")
    assert response.status_code == 302 and response.headers["Location"] == "/profile/"
    page = client.get("/profile/").get_data(as_text=True)
    assert "Hello, Ada Lovelace" in page
    user = _user(app, "ada@example.com")  # e-mail kept lower-case
    assert user.role == "customer" and user.phone == "+39021234567"
    assert user.password_hash.startswith("$argon2id$") and DEFAULT_PASSWORD not in user.password_hash
    assert PasswordHasher().verify(user.password_hash, DEFAULT_PASSWORD)
    # Both choices (here: "no") are recorded with the time they were made.
    assert (user.consent_snapshots, user.consent_contact) == (False, False)
    assert user.consent_snapshots_at is not None and user.consent_contact_at is not None


def test_consents_are_recorded_separately_with_their_time(app):
    client = app.test_client()
    register(client, "grace@example.com", consent_snapshots=True)
    user = _user(app, "grace@example.com")
    assert user.consent_snapshots is True and user.consent_contact is False
    decided, snapshots_decided = user.consent_contact_at, user.consent_snapshots_at
    client.post("/profile/consent", data={"csrf_token": csrf_token(client), "snapshots": "y", "contact": "y"})
    user = _user(app, "grace@example.com")
    assert user.consent_snapshots is True and user.consent_contact is True
    assert user.consent_contact_at > decided  # only the changed choice gets a new time
    assert user.consent_snapshots_at == snapshots_decided


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"email": "not-an-address"}, "Enter a valid e-mail address"),
        ({"password": "short", "confirm": "short"}, "Use at least 10 characters"),
        ({"confirm": "something else entirely"}, "The passwords do not match"),
        ({"name": ""}, "This field is required"),
        ({"phone": "call me maybe"}, "Enter a phone number"),
    ],
)
def test_register_shows_what_is_wrong(app, change, message):
    client = app.test_client()
    data = {
        "name": "Bad Input",
        "email": "bad@example.com",
        "phone": "",
        "password": DEFAULT_PASSWORD,
        "confirm": DEFAULT_PASSWORD,
        "locale": "en",
        **change,
    }
    response = post_form(client, "/auth/register", data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _user(app, "bad@example.com") is None


def test_register_refuses_an_existing_email_whatever_its_case(app):
    register(app.test_client(), "dup@example.com")
    response = register(app.test_client(), "DUP@example.com")
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)


def test_login_success_failure_and_unknown_account(app):
    create_user(app, "lin@example.com")
    client = app.test_client()
    wrong = login(client, "lin@example.com", "not the password")
    assert wrong.status_code == 401 and "Wrong e-mail or password" in wrong.get_data(as_text=True)
    unknown = login(client, "nobody@example.com")
    assert unknown.status_code == 401 and "Wrong e-mail or password" in unknown.get_data(as_text=True)
    assert client.get("/profile/").status_code == 302
    ok = login(client, "LIN@example.com")
    assert ok.status_code == 302 and ok.headers["Location"] == "/profile/"
    assert client.get("/profile/").status_code == 200


def test_login_redirects_only_to_local_next_pages(app):
    create_user(app, "next@example.com")
    for target, expected in (
        ("/booking/store/roma-monti", "/booking/store/roma-monti"),
        ("https://evil.example/phish", "/profile/"),
        ("//evil.example/phish", "/profile/"),
        ("/\\evil.example", "/profile/"),
    ):
        client = app.test_client()
        token = csrf_token(client)
        response = client.post(
            "/auth/login",
            query_string={"next": target},
            data={"csrf_token": token, "email": "next@example.com", "password": DEFAULT_PASSWORD},
        )
        assert response.status_code == 302 and response.headers["Location"] == expected, target


def test_login_is_rate_limited(tmp_path):
    app = make_app(tmp_path, LOGIN_RATE_LIMIT=DefaultConfig.LOGIN_RATE_LIMIT)  # the production limit
    create_user(app, "target@example.com")
    client = app.test_client()
    statuses = [login(client, "target@example.com", f"guess {i}").status_code for i in range(5)]
    assert statuses == [401] * 5
    blocked = login(client, "target@example.com")  # even the right password: wait first
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)
    assert "Retry-After" in blocked.headers
    as_json = client.post(
        "/auth/login",
        headers={"Accept": "application/json", "X-CSRFToken": csrf_token(client)},
        data={"email": "target@example.com", "password": "x"},
    )
    assert as_json.status_code == 429 and as_json.get_json()["error"] == "too_many_requests"
    assert client.get("/auth/login").status_code == 200  # only POSTs count


def test_logout_needs_a_post_with_the_token(app):
    client = app.test_client()
    register(client, "out@example.com")
    assert client.get("/auth/logout").status_code == 405
    response = logout(client)
    assert response.status_code == 302
    assert client.get("/profile/").status_code == 302


def test_session_is_renewed_at_sign_in_and_keeps_the_language(app):
    create_user(app, "fix@example.com")
    client = app.test_client()
    client.get("/?lang=it")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(client, "fix@example.com")
    with client.session_transaction() as session:
        assert "planted" not in session and session["lang"] == "it"


def test_hash_is_upgraded_when_the_parameters_change(tmp_path):
    app = make_app(tmp_path)
    create_user(app, "old@example.com")
    stronger = make_app(tmp_path, ARGON2_TIME_COST=2)
    assert login(stronger.test_client(), "old@example.com").status_code == 302
    assert "t=2" in _user(stronger, "old@example.com").password_hash


def test_create_staff_command(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["create-staff", "Boss@Example.com", "--name", "The Boss", "--password", "a long staff password"]
    )
    assert result.exit_code == 0, result.output
    assert "staff account boss@example.com created" in result.output
    boss = _user(app, "boss@example.com")
    assert boss.role == "staff" and boss.name == "The Boss"
    assert (
        login(app.test_client(), "boss@example.com", "a long staff password").headers["Location"] == "/staff/"
    )

    create_user(app, "promote@example.com")
    result = runner.invoke(args=["create-staff", "promote@example.com"])
    assert result.exit_code == 0 and "updated" in result.output
    assert _user(app, "promote@example.com").role == "staff"


def test_create_staff_prompts_for_the_password_and_checks_input(app):
    runner = app.test_cli_runner()
    prompted = runner.invoke(
        args=["create-staff", "ask@example.com"], input="prompted password\nprompted password\n"
    )
    assert prompted.exit_code == 0, prompted.output
    assert login(app.test_client(), "ask@example.com", "prompted password").status_code == 302
    bad_email = runner.invoke(args=["create-staff", "not-an-email", "--password", "long enough password"])
    assert bad_email.exit_code != 0 and "is not an e-mail address" in bad_email.output
    short = runner.invoke(args=["create-staff", "short@example.com", "--password", "short"])
    assert short.exit_code != 0 and "at least 10 characters" in short.output
    assert _user(app, "short@example.com") is None
