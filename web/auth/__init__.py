"""Accounts: register, sign in (locked out per account and address after wrong passwords), sign out,
change the password, sign out everywhere; sessions end with their token (see .sessions)."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import routes  # noqa: E402,F401
