"""The home page."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from .extensions import db
from .models import Store

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> str:
    stores = db.session.scalars(select(Store).order_by(Store.name)).all()
    return render_template("home.html", stores=stores)
