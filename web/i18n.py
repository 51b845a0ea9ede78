"""Locale selection and locale-aware formatting.

The language is, in order: ``?lang=`` on any page (remembered in the session, and on the account of
a signed-in user), the session, then the browser's Accept-Language, then English.

Dates, times and prices follow the conventions of the browser's own locale when it speaks the page's
language: an ``en-GB`` browser reads "15:30" and "3 Dec 2026", an ``en-US`` one "3:30 PM" and
"Dec 3, 2026", ``it-CH`` gets Swiss Italian. Otherwise, and outside a request (e-mails sent from
the command line), the language's own conventions are used.
"""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlencode

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import format_time as babel_format_time
from babel.numbers import format_currency as babel_format_currency
from flask import Flask, g, has_request_context, request, session
from flask_babel import get_locale, to_user_timezone
from flask_login import current_user

from .config import SUPPORTED_LOCALES
from .extensions import db

LOCALE_NAMES = {"en": "English", "it": "Italiano"}


def select_locale() -> str:
    """Flask-Babel's locale selector."""
    chosen = session.get("lang")
    if chosen in SUPPORTED_LOCALES:
        return chosen
    return request.accept_languages.best_match(SUPPORTED_LOCALES) or "en"


def remember_lang_switch() -> None:
    """``before_request``: store a ``?lang=xx`` choice in the session (and on the account)."""
    lang = request.args.get("lang")
    if lang not in SUPPORTED_LOCALES:
        return
    session["lang"] = lang
    if current_user.is_authenticated and current_user.locale != lang:
        current_user.locale = lang
        db.session.commit()


def lang_url(code: str) -> str:
    """The current URL with ``lang=code`` (other query arguments kept)."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [code]
    return f"{request.path}?{urlencode(args, doseq=True)}"


def current_locale() -> str:
    return str(get_locale() or "en")


def regional_locale(language: str, accept_language: list[str]) -> Locale:
    """The first of the browser's locales (``["en-GB", "en", ...]``) that speaks ``language`` and
    that Babel knows, else ``language`` itself: the conventions to format dates and numbers with."""
    for tag in accept_language:
        try:
            candidate = Locale.parse(tag, sep="-")
        except (ValueError, UnknownLocaleError):
            continue
        if candidate.language == language:
            return candidate
    return Locale.parse(language)


def format_locale() -> Locale:
    """The locale whose conventions format dates, times and prices in this request (see above)."""
    language = current_locale()
    if not has_request_context():
        return Locale.parse(language)
    cached = g.get("_format_locale")
    if cached is None or cached.language != language:
        cached = regional_locale(language, [tag for tag, _quality in request.accept_languages])
        g._format_locale = cached
    return cached


def _wall_clock(value: datetime) -> datetime:
    """Aware datetimes keep their zone; naive ones are UTC (the database's convention), shown in
    the site's timezone (``BABEL_DEFAULT_TIMEZONE``)."""
    return to_user_timezone(value) if value.tzinfo is None else value


def fmt_date(value: date | datetime, format: str = "full") -> str:
    """A date in the request's locale ("martedì 3 dicembre 2026"); aware datetimes keep their zone."""
    if isinstance(value, datetime):
        value = _wall_clock(value).date()
    return babel_format_date(value, format=format, locale=format_locale())


def fmt_time(value: datetime, format: str = "short") -> str:
    """A wall-clock time in the request's locale, in ``value``'s own timezone ("15:30" / "3:30 PM")."""
    value = _wall_clock(value)
    return babel_format_time(value, format=format, tzinfo=value.tzinfo, locale=format_locale())


def fmt_datetime(value: datetime, format: str = "medium") -> str:
    """A datetime in the request's locale: aware ones in their own timezone, naive (UTC) ones in the
    site's."""
    value = _wall_clock(value)
    return babel_format_datetime(value, format=format, tzinfo=value.tzinfo, locale=format_locale())


def fmt_price(amount: float, currency: str = "EUR") -> str:
    return babel_format_currency(amount, currency, locale=format_locale())


def init_app(app: Flask) -> None:
    app.before_request(remember_lang_switch)
    app.jinja_env.globals.update(
        lang_url=lang_url,
        current_locale=current_locale,
        supported_locales=SUPPORTED_LOCALES,
        locale_names=LOCALE_NAMES,
    )
    app.jinja_env.filters.update(
        local_date=fmt_date, local_time=fmt_time, local_datetime=fmt_datetime, price=fmt_price
    )
