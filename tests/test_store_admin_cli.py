"""``tryon store staff`` / ``tryon store mirror``: assigning staff to a store and registering a
mirror from the command line (the printed token works on the kiosk API; bad input exits 2)."""

from __future__ import annotations

import pytest

from tryon.cli import main


@pytest.fixture
def instance(tmp_path, monkeypatch):
    for name in ("TRYON_REDIS_URL", "TRYON_DATABASE_URL", "TRYON_DEMO"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRYON_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("TRYON_SECRET_KEY", "admin-cli-test")
    return tmp_path / "instance"


def test_register_a_mirror_and_assign_staff(instance, capsys):
    assert main(["store", "mirror", "milano-brera", "Front", "--pin", "2468"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("tmk_")
    from web import build_app
    from web.auth.passwords import hash_password
    from web.extensions import db
    from web.models import User
    from web.store.access import mirror_for_token
    from web.store.models import StoreStaff

    app = build_app()
    with app.app_context():
        mirror = mirror_for_token(token)
        assert mirror is not None and mirror.store_id == "milano-brera" and mirror.name == "Front"
        db.session.add(
            User(email="desk@tryon.test", name="Desk", role="staff", password_hash=hash_password("x" * 12))
        )
        db.session.add(
            User(email="shopper@tryon.test", name="Shopper", password_hash=hash_password("x" * 12))
        )
        db.session.commit()
    assert main(["store", "staff", "desk@tryon.test", "milano-brera"]) == 0
    assert main(["store", "staff", "desk@tryon.test", "milano-brera"]) == 0  # twice: still one row
    capsys.readouterr()
    assert main(["store", "staff", "shopper@tryon.test", "milano-brera"]) == 2
    assert "no staff account" in capsys.readouterr().err
    assert main(["store", "staff", "desk@tryon.test", "atlantis"]) == 2
    assert "no store 'atlantis'" in capsys.readouterr().err
    assert main(["store", "mirror", "milano-brera", "Back", "--pin", "12"]) == 2
    assert "4 to 8 digits" in capsys.readouterr().err
    with app.app_context():
        assert db.session.query(StoreStaff).count() == 1
