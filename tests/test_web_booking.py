"""Booking a fitting: slots from opening hours, capacity enforced by the database (40 concurrent
bookings for 2 chairs), confirmation with QR code and .ics, cancel, reschedule, notifications."""

from __future__ import annotations

import re
import socketserver
import threading
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest
import segno
from icalendar import Calendar
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from web.booking import services
from web.booking.slots import day_slots, slot_starts
from web.extensions import db
from web.models import Booking, Communication, SlotCapacity, Store, User
from web.notify import send_reminders
from web.testing import bookable_slot, create_user, login, make_app, post_form, register

ROME = ZoneInfo("Europe/Rome")


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


def _users(app, n: int, prefix: str = "c") -> list[int]:
    return [create_user(app, f"{prefix}{i}@example.com") for i in range(n)]


def _book(app, user_id: int, store_id: str, start, favourites=()):
    with app.app_context():
        return services.book(db.session.get(User, user_id), store_id, start, favourites).id


def _booked_count(app, store_id: str, start) -> int:
    with app.app_context():
        start_utc = start.astimezone(UTC).replace(tzinfo=None)
        return (
            db.session.scalar(
                select(SlotCapacity.booked).where(
                    SlotCapacity.store_id == store_id, SlotCapacity.start_utc == start_utc
                )
            )
            or 0
        )


# -- slots --------------------------------------------------------------------------------------------
def test_slots_follow_opening_hours_and_slot_length(app):
    with app.app_context():
        milano = db.session.get(Store, "milano-brera")
        tuesday = date(2031, 3, 4)
        starts = slot_starts(milano, tuesday)  # 09:30-13:00 and 15:00-19:30, 30 minutes
        assert len(starts) == 7 + 9
        assert starts[0] == datetime(2031, 3, 4, 9, 30, tzinfo=ROME)
        assert starts[6].time().isoformat() == "12:30:00" and starts[7].time().isoformat() == "15:00:00"
        assert starts[-1].time().isoformat() == "19:00:00"
        assert slot_starts(milano, date(2031, 3, 2)) == []  # Sunday: closed
        torino = db.session.get(
            Store, "torino-centro"
        )  # 10:00-18:00, 45 minutes: 10 slots, the last 16:45-17:30
        assert [s.strftime("%H:%M") for s in slot_starts(torino, tuesday)][-2:] == ["16:00", "16:45"]


def test_slots_keep_the_wall_clock_across_daylight_saving(app):
    with app.app_context():
        roma = db.session.get(Store, "roma-monti")
        before = slot_starts(roma, date(2031, 3, 29))[0]  # Saturday, CET
        after = slot_starts(roma, date(2031, 3, 31))[0]  # Monday, CEST (clocks moved on the 30th)
        assert before.strftime("%H:%M") == after.strftime("%H:%M") == "09:30"
        assert before.utcoffset() == timedelta(hours=1) and after.utcoffset() == timedelta(hours=2)
        assert before.astimezone(UTC).hour == 8 and after.astimezone(UTC).hour == 7


def test_only_future_slots_within_the_horizon_are_bookable(app):
    user = create_user(app, "when@example.com")
    with app.app_context():
        roma = db.session.get(Store, "roma-monti")
        today = roma.today()
        for slot in day_slots(roma, today):
            assert slot.bookable == (
                slot.start_utc >= datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)
            )
    start = bookable_slot(app, "roma-monti")
    for bad, error in (
        (start - timedelta(days=10), services.InvalidSlotError),  # in the past
        (start + timedelta(days=90), services.InvalidSlotError),  # beyond the 60-day horizon
        (start + timedelta(minutes=10), services.InvalidSlotError),  # not a slot boundary
        (start.replace(hour=3, minute=0), services.InvalidSlotError),  # store closed at 3 am
    ):
        with pytest.raises(error):
            _book(app, user, "roma-monti", bad)
    with pytest.raises(services.UnknownStoreError):
        _book(app, user, "paris-opera", start)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Booking)) == 0


# -- capacity -----------------------------------------------------------------------------------------
def test_a_slot_takes_as_many_bookings_as_chairs(app):
    start = bookable_slot(app, "milano-brera")  # 2 chairs
    a, b, c = _users(app, 3)
    _book(app, a, "milano-brera", start)
    _book(app, b, "milano-brera", start)
    with pytest.raises(services.SlotFullError):
        _book(app, c, "milano-brera", start)
    assert _booked_count(app, "milano-brera", start) == 2
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Booking)) == 2
        slot = next(
            s
            for s in day_slots(db.session.get(Store, "milano-brera"), start.date())
            if s.start_local == start
        )
        assert slot.free == 0 and not slot.available


def test_forty_concurrent_bookings_for_two_chairs_on_sqlite(app):
    """40 threads, each with its own session and connection, book the same 2-chair slot at once."""
    run_concurrent_bookings(app, "milano-brera")


def run_concurrent_bookings(app, store_id: str, attempts: int = 40) -> None:
    start = bookable_slot(app, store_id)
    with app.app_context():
        chairs = db.session.get(Store, store_id).chairs
    assert chairs == 2
    user_ids = _users(app, attempts, prefix="race")
    barrier = threading.Barrier(attempts)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(user_id: int) -> None:
        with app.app_context():
            user = db.session.get(User, user_id)
            barrier.wait()
            try:
                services.book(user, store_id, start, [])
                result = "booked"
            except services.SlotFullError:
                result = "full"
            except Exception as exc:  # anything else is a failure of the test
                result = f"error: {type(exc).__name__}: {exc}"
            finally:
                db.session.remove()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(uid,)) for uid in user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["booked"] * 2 + ["full"] * (attempts - 2)
    assert _booked_count(app, store_id, start) == 2
    with app.app_context():
        assert (
            db.session.scalar(select(func.count()).select_from(Booking).where(Booking.status == "booked"))
            == 2
        )


def test_the_database_itself_refuses_more_bookings_than_chairs(app):
    start = bookable_slot(app, "torino-centro")  # 1 chair
    _book(app, create_user(app, "one@example.com"), "torino-centro", start)
    with app.app_context(), pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE slot_capacity SET booked = booked + 1"))
        db.session.commit()


def test_a_customer_cannot_take_two_chairs_of_one_slot(app):
    user = create_user(app, "greedy@example.com")
    start = bookable_slot(app, "roma-monti")
    _book(app, user, "roma-monti", start)
    with pytest.raises(services.BookingError, match="already have a fitting"):
        _book(app, user, "roma-monti", start)
    assert _booked_count(app, "roma-monti", start) == 1


# -- the booking pages ------------------------------------------------------------------------------------
def test_booking_flow_confirmation_qr_and_calendar_file(app):
    client = app.test_client()
    register(client, "flow@example.com", name="Flo Customer")
    fav_ids = [
        client.post(
            "/profile/favourites",
            json={"frame_id": fid},
            headers={
                "X-CSRFToken": re.search(
                    r'name="csrf-token" content="([^"]+)"', client.get("/").get_data(as_text=True)
                ).group(1)
            },
        ).get_json()["id"]
        for fid in ("milano-round", "falco-aviator")
    ]
    start = bookable_slot(app, "roma-monti")
    picker = client.get(f"/booking/store/roma-monti?day={start.date().isoformat()}").get_data(as_text=True)
    assert f'value="{start.isoformat()}"' in picker
    assert "3 chairs free" in picker and "Frames to have ready" in picker
    for fav_id in fav_ids:
        assert f'name="favourites" value="{fav_id}" checked' in picker

    response = post_form(
        client, "/booking/store/roma-monti", {"start": start.isoformat(), "favourites": [str(fav_ids[1])]}
    )
    assert response.status_code == 302
    booking_url = response.headers["Location"]
    assert re.fullmatch(r"/booking/\d+", booking_url)
    page = client.get(booking_url).get_data(as_text=True)
    assert "Your fitting is booked" in page and "Tryon Roma Monti" in page and "Falco" in page
    assert "Milano" not in page.split("Frames we will have ready")[1].split("Show this in store")[0]
    with app.app_context():
        booking = db.session.scalar(select(Booking))
        reference = booking.reference
        assert booking.start_local == start and [f.id for f in booking.favourites] == [fav_ids[1]]

    # The QR code on the page encodes the staff check-in address of this booking, and reads back.
    checkin = f"http://localhost/staff/checkin/{reference}"
    qr = segno.make(checkin, error="m")
    assert qr.svg_inline(scale=5, dark="#111", light="#fff", border=2) in page
    matrix = np.array([[0 if dark else 255 for dark in row] for row in qr.matrix], dtype=np.uint8)
    image = cv2.resize(
        np.pad(matrix, 4, constant_values=255), None, fx=8, fy=8, interpolation=cv2.INTER_NEAREST
    )
    decoded, _points, _ = cv2.QRCodeDetector().detectAndDecode(image)
    assert decoded == checkin
    assert reference in page

    ics = client.get(f"{booking_url}/calendar.ics")
    assert ics.status_code == 200 and ics.mimetype == "text/calendar"
    assert f'filename="fitting-{reference}.ics"' in ics.headers["Content-Disposition"]
    event = Calendar.from_ical(ics.data).walk("VEVENT")[0]
    assert event.decoded("dtstart") == start
    assert event.decoded("dtstart").tzinfo.key == "Europe/Rome"
    assert event.decoded("dtend") - event.decoded("dtstart") == timedelta(minutes=30)
    assert "Tryon Roma Monti" in str(event["summary"]) and "Via dei Serpenti 45" in str(event["location"])
    assert reference in str(event["description"]) and "Falco" in str(event["description"])
    assert str(event["uid"]) == f"booking-{reference}@tryon"
    assert Calendar.from_ical(ics.data).walk("VTIMEZONE")[0]["tzid"] == "Europe/Rome"


def test_confirmation_is_sent_and_logged_in_the_customers_language(app):
    client = app.test_client()
    register(client, "mail@example.com", name="Maria", locale="it")
    start = bookable_slot(app, "milano-brera")
    post_form(client, "/booking/store/milano-brera", {"start": start.isoformat()})
    outbox = app.extensions["tryon_sender"].outbox
    assert len(outbox) == 1
    message = outbox[0]
    assert message.to == "mail@example.com"
    assert message.subject == "La tua prova da Tryon Milano Brera è prenotata"
    assert "Ciao Maria, la tua prova è prenotata." in message.body
    assert start.strftime("%H:%M") in message.body
    (attachment,) = message.attachments
    assert attachment.content_type == "text/calendar"
    assert Calendar.from_ical(attachment.data).walk("VEVENT")[0].decoded("dtstart") == start
    with app.app_context():
        (entry,) = db.session.scalars(select(Communication)).all()
        assert (entry.kind, entry.status, entry.channel) == ("booking_confirmed", "sent", "email")
        assert (
            entry.subject == message.subject and entry.body == message.body and entry.booking_id is not None
        )


def test_full_slot_on_the_page_gives_a_clear_message(app):
    start = bookable_slot(app, "torino-centro")  # 1 chair
    _book(app, create_user(app, "first@example.com"), "torino-centro", start)
    client = app.test_client()
    register(client, "late@example.com")
    picker = client.get(f"/booking/store/torino-centro?day={start.date().isoformat()}").get_data(as_text=True)
    assert re.search(rf'value="{re.escape(start.isoformat())}"\s+disabled', picker)
    response = post_form(client, "/booking/store/torino-centro", {"start": start.isoformat()})
    assert response.status_code == 409
    assert "This slot has just been fully booked" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({}, 400, "Please choose a time slot."),
        ({"start": "tomorrow at ten"}, 400, "Please choose a time slot."),
        ({"start": "2031-03-04T09:30:00"}, 400, "Please choose a time slot."),  # no UTC offset
        ({"start": "2020-01-07T09:30:00+01:00"}, 400, "not a bookable slot"),
    ],
)
def test_bad_booking_forms(app, form, status, message):
    client = app.test_client()
    register(client, "form@example.com")
    response = post_form(client, "/booking/store/roma-monti", form)
    assert response.status_code == status and message in response.get_data(as_text=True)


def test_unknown_store_and_anonymous_booking(app):
    client = app.test_client()
    assert client.get("/booking/store/nowhere").status_code == 404
    picker = client.get("/booking/store/roma-monti").get_data(as_text=True)
    assert "Sign in to book" in picker
    start = bookable_slot(app, "roma-monti")
    response = post_form(client, "/booking/store/roma-monti", {"start": start.isoformat()})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_cancel_frees_the_chair(app):
    start = bookable_slot(app, "torino-centro")
    client = app.test_client()
    register(client, "cancel@example.com")
    booking_url = post_form(client, "/booking/store/torino-centro", {"start": start.isoformat()}).headers[
        "Location"
    ]
    assert _booked_count(app, "torino-centro", start) == 1
    response = post_form(client, f"{booking_url}/cancel")
    assert response.status_code == 302
    assert _booked_count(app, "torino-centro", start) == 0
    assert "Cancelled" in client.get(booking_url).get_data(as_text=True)
    again = post_form(client, f"{booking_url}/cancel")
    assert "can no longer be changed" in client.get(again.headers["Location"]).get_data(as_text=True)
    _book(app, create_user(app, "next@example.com"), "torino-centro", start)  # the chair is free again
    kinds = [m.subject for m in app.extensions["tryon_sender"].outbox]
    assert kinds[-1] == "Your fitting at Tryon Torino Centro is cancelled"


def test_reschedule_moves_the_booking_and_both_counters(app):
    first = bookable_slot(app, "milano-brera")
    second = bookable_slot(app, "milano-brera", skip=1)
    client = app.test_client()
    register(client, "move@example.com")
    booking_url = post_form(client, "/booking/store/milano-brera", {"start": first.isoformat()}).headers[
        "Location"
    ]
    page = client.get(f"{booking_url}/reschedule?day={second.date().isoformat()}").get_data(as_text=True)
    assert "Move your fitting" in page and f'value="{second.isoformat()}"' in page
    response = post_form(client, f"{booking_url}/reschedule", {"start": second.isoformat()})
    assert response.status_code == 302 and response.headers["Location"] == booking_url
    assert (_booked_count(app, "milano-brera", first), _booked_count(app, "milano-brera", second)) == (0, 1)
    with app.app_context():
        assert db.session.scalar(select(Booking)).start_local == second
    assert app.extensions["tryon_sender"].outbox[-1].subject == "Your fitting at Tryon Milano Brera has moved"

    # Into a full slot: refused, nothing changes.
    a, b = _users(app, 2, prefix="fill")
    _book(app, a, "milano-brera", first)
    _book(app, b, "milano-brera", first)
    full = post_form(client, f"{booking_url}/reschedule", {"start": first.isoformat()})
    assert full.status_code == 409 and "fully booked" in full.get_data(as_text=True)
    assert (_booked_count(app, "milano-brera", first), _booked_count(app, "milano-brera", second)) == (2, 1)


def test_booking_with_someone_elses_favourite_is_refused(app):
    other = app.test_client()
    register(other, "owner@example.com")
    token = re.search(r'name="csrf-token" content="([^"]+)"', other.get("/").get_data(as_text=True)).group(1)
    foreign = other.post(
        "/profile/favourites", json={"frame_id": "milano-round"}, headers={"X-CSRFToken": token}
    ).get_json()["id"]
    client = app.test_client()
    register(client, "thief@example.com")
    start = bookable_slot(app, "roma-monti")
    response = post_form(
        client, "/booking/store/roma-monti", {"start": start.isoformat(), "favourites": [str(foreign)]}
    )
    assert response.status_code == 400 and "do not exist" in response.get_data(as_text=True)
    assert _booked_count(app, "roma-monti", start) == 0


# -- reminders ----------------------------------------------------------------------------------------------
def _tomorrow_slots(app):
    """(store id, [starts]) of the free slots tomorrow (store-local) of a demo store open then."""
    with app.app_context():
        for store in db.session.scalars(select(Store)).all():
            tomorrow = store.today() + timedelta(days=1)
            free = [s.start_local for s in day_slots(store, tomorrow) if s.available]
            if len(free) >= 2:
                return store.id, free
    raise AssertionError("no store open tomorrow")


def test_send_reminders_command_once_and_only_with_consent(app):
    store_id, free = _tomorrow_slots(app)
    start, other = free[:2]
    agreed = create_user(app, "agreed@example.com", consent_contact=True, locale="it")
    refused = create_user(app, "refused@example.com", consent_contact=False)
    _book(app, agreed, store_id, start)
    _book(app, refused, store_id, other)
    later = bookable_slot(app, store_id, days_ahead=3)
    _book(app, agreed, store_id, later)  # not tomorrow: no reminder

    runner = app.test_cli_runner()
    result = runner.invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output
    assert "1 reminder(s) sent, 0 failed" in result.output
    reminder = app.extensions["tryon_sender"].outbox[-1]
    assert reminder.to == "agreed@example.com" and reminder.subject.startswith(
        "Promemoria: domani la tua prova"
    )
    assert "http://localhost:5000/booking/" in reminder.body
    with app.app_context():
        logged = db.session.scalars(select(Communication).where(Communication.kind == "reminder")).all()
        assert [c.recipient for c in logged] == ["agreed@example.com"]
    assert "0 reminder(s) sent" in runner.invoke(args=["send-reminders"]).output  # once only

    later_day = later.date().isoformat()
    result = runner.invoke(args=["send-reminders", "--date", later_day])
    assert "1 reminder(s) sent" in result.output
    bad = runner.invoke(args=["send-reminders", "--date", "soon"])
    assert bad.exit_code != 0 and "is not a date" in bad.output


def test_reminder_function_skips_cancelled_fittings(app):
    store_id, (start, *_rest) = _tomorrow_slots(app)
    user = create_user(app, "gone@example.com", consent_contact=True)
    booking_id = _book(app, user, store_id, start)
    with app.app_context():
        services.cancel(db.session.get(Booking, booking_id))
        with app.test_request_context("/"):
            assert send_reminders() == []


# -- SMTP ------------------------------------------------------------------------------------------------
class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to receive one message per connection (no AUTH, no TLS)."""

    def handle(self) -> None:
        self.wfile.write(b"220 test ESMTP\r\n")
        data_mode, lines = False, []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            if data_mode:
                if line in (b".\r\n", b".\n"):
                    self.server.messages.append(b"".join(lines))
                    data_mode, lines = False, []
                    self.wfile.write(b"250 queued\r\n")
                else:
                    lines.append(line[1:] if line.startswith(b"..") else line)
                continue
            command = line.strip().upper()
            if command.startswith((b"EHLO", b"HELO")):
                self.wfile.write(b"250 test\r\n")
            elif command.startswith((b"MAIL", b"RCPT", b"RSET", b"NOOP")):
                self.wfile.write(b"250 ok\r\n")
            elif command == b"DATA":
                data_mode = True
                self.wfile.write(b"354 go ahead\r\n")
            elif command == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"502 not implemented\r\n")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.daemon_threads = True
    server.messages = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_smtp_sender_delivers_the_confirmation_with_the_calendar_file(tmp_path, smtp_server):
    app = make_app(
        tmp_path,
        NOTIFY_BACKEND="smtp",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_server.server_address[1],
        MAIL_FROM="Tryon <fittings@tryon.test>",
    )
    client = app.test_client()
    register(client, "smtp@example.com")
    start = bookable_slot(app, "roma-monti")
    assert post_form(client, "/booking/store/roma-monti", {"start": start.isoformat()}).status_code == 302
    (raw,) = smtp_server.messages
    email = message_from_bytes(raw, policy=policy.default)
    assert email["To"] == "smtp@example.com" and email["From"] == "Tryon <fittings@tryon.test>"
    assert email["Subject"] == "Your fitting at Tryon Roma Monti is booked"
    assert "your fitting is booked" in email.get_body(("plain",)).get_content()
    (attachment,) = list(email.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert Calendar.from_ical(attachment.get_content()).walk("VEVENT")[0].decoded("dtstart") == start


def test_a_failed_delivery_is_logged_and_the_booking_stands(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = make_app(tmp_path, NOTIFY_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=2)
    client = app.test_client()
    register(client, "down@example.com")
    start = bookable_slot(app, "roma-monti")
    response = post_form(client, "/booking/store/roma-monti", {"start": start.isoformat()})
    assert response.status_code == 302
    with app.app_context():
        (entry,) = db.session.scalars(select(Communication)).all()
        assert entry.status == "failed" and "ConnectionRefusedError" in entry.error
        assert db.session.scalar(select(func.count()).select_from(Booking)) == 1


def test_unknown_notify_backend_is_a_clear_error(tmp_path):
    from web.notify import make_sender

    app = make_app(tmp_path, NOTIFY_BACKEND="pigeon")
    with pytest.raises(ValueError, match="NOTIFY_BACKEND must be console, smtp or memory, not 'pigeon'"):
        make_sender(app)


def test_login_then_book_from_the_picker_keeps_the_page(app):
    create_user(app, "return@example.com")
    client = app.test_client()
    response = client.get("/booking/store/roma-monti")
    assert "/auth/login?next=" in response.get_data(as_text=True)
    assert login(client, "return@example.com").status_code == 302
