"""The double-submit tests of :mod:`tests.test_web_double_submit` with gunicorn on PostgreSQL
(``TRYON_TEST_POSTGRES_URL``; each run in a schema of its own, dropped afterwards).

Locally the tests skip without a server; in CI (``CI=true``) a missing URL is a failure.
"""

from __future__ import annotations

import secrets

import pytest
from shared_data import postgres_url as require_postgres_url
from sqlalchemy import create_engine, make_url, text

from tests.test_web_double_submit import (  # noqa: F401 - the tests, run again with this server
    attach_database,
    mailbox,
    start_server,
    test_ten_identical_bookings_at_once_take_one_chair,
    test_ten_identical_bookings_at_the_three_chair_store_take_one_chair,
    test_ten_identical_cancellations_at_once_free_the_chair_once,
    test_ten_identical_favourites_at_once_make_one,
    test_ten_identical_measurements_at_once_make_one,
    test_ten_identical_reschedules_at_once_move_the_booking_once,
    test_ten_identical_snapshots_at_once_make_one_favourite_and_one_file,
)

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, mailbox):  # noqa: F811 - fixture parameter
    url = require_postgres_url()
    schema = f"tryon_double_{secrets.token_hex(4)}"
    in_schema = (
        make_url(url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        folder = tmp_path_factory.mktemp("double_submit_pg")
        with start_server(folder, mailbox, in_schema) as live:
            attach_database(live, in_schema)
            yield live
            live.close_database()
            assert "Traceback" not in live.output(), live.output()[-4000:]
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
