"""The sign-in lock-out's other limit and its wording (the per-account one is tried over HTTP in
test_web_sessions.py): one address guessing on many accounts is stopped too, and the wait is told
in words in the visitor's language, to browsers and to API clients."""

from __future__ import annotations

from web.testing import DEFAULT_PASSWORD, create_user, csrf_token, make_app


def _client_from(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _sign_in(client, email: str, password: str, **kwargs):
    return client.post(
        "/auth/login",
        data={"csrf_token": csrf_token(client, "/auth/login"), "email": email, "password": password},
        **kwargs,
    )


def test_one_address_guessing_on_many_accounts_is_stopped(tmp_path):
    app = make_app(tmp_path, LOGIN_RATE_LIMIT="5 per minute", LOGIN_ADDRESS_RATE_LIMIT="3 per hour")
    for n in range(4):
        create_user(app, f"many{n}@example.com")
    guesser = _client_from(app, "203.0.113.7")
    assert [_sign_in(guesser, f"many{n}@example.com", "guess").status_code for n in range(3)] == [401] * 3
    blocked = _sign_in(guesser, "many3@example.com", DEFAULT_PASSWORD)
    assert blocked.status_code == 429
    page = blocked.get_data(as_text=True)
    assert "too many wrong passwords from your connection. Please wait 1 hour and try again." in page
    assert 3000 < int(blocked.headers["Retry-After"]) <= 3600  # the hour's window
    neighbour = _client_from(app, "203.0.113.8")
    assert _sign_in(neighbour, "many3@example.com", DEFAULT_PASSWORD).status_code == 302


def test_the_wait_is_said_in_italian_and_in_json(tmp_path):
    app = make_app(tmp_path, LOGIN_RATE_LIMIT="2 per minute")
    create_user(app, "it@example.com")
    client = app.test_client()
    client.get("/?lang=it")
    assert [_sign_in(client, "it@example.com", "no").status_code for _ in range(2)] == [401, 401]
    page = _sign_in(client, "it@example.com", DEFAULT_PASSWORD)
    assert page.status_code == 429
    assert "Attendi 1 minuto e riprova." in page.get_data(as_text=True)
    as_json = client.post(
        "/auth/login",
        headers={"Accept": "application/json", "X-CSRFToken": csrf_token(client, "/auth/login")},
        data={"email": "it@example.com", "password": DEFAULT_PASSWORD},
    )
    assert as_json.status_code == 429 and as_json.get_json()["error"] == "too_many_requests"
    assert "1 minuto" in as_json.get_json()["message"]
