"""`credit servicing run` on a small store: what it prints, that a second run does nothing, its errors."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from credit import clock
from credit.servicing.tables import ServicingAction
from credit.store.engine import make_engine
from migrations import upgrade
from tests.cli.invoke import assert_refused, credit
from tests.servicing.factories import book_receivable

# 1,234.56 shipped on 2027-03-01 on net 30: due 2027-03-31, 7 days past due at the end of 2027-04-07


@pytest.fixture
def store_url(tmp_path) -> str:  # noqa: ANN001
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session, session.begin():
        book_receivable(session, principal_minor=123_456, issued_at=datetime(2027, 3, 1, 10))
    engine.dispose()
    return url


def _actions(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(ServicingAction)).scalar_one()
    engine.dispose()
    return count


def test_run_prints_the_steps_taken_with_amounts_in_major_units(store_url):
    with clock.frozen(datetime(2027, 4, 8, 2)):
        first = credit("servicing", "run", "--as-of", "2027-04-07", "--database-url", store_url)
        again = credit("servicing", "run", "--as-of", "2027-04-07", "--database-url", store_url)

    assert first.exit_code == 0, first.output
    assert "servicing day 2027-04-07 (judged at 2027-04-08 00:00 UTC): 1 receivables and 1 lines checked, " \
           "1 decisions recorded" in first.text
    assert "reminder │ 1 │" in first.text
    assert "late_fee │ 1 │ 37.35" in first.text  # 25.00 + 1% of 1,234.56 rounded half up
    assert "freeze │ 0 │" in first.text
    assert "ageing: 1 lines in the snapshot of 2027-04-07, 1 rows written" in first.text
    assert again.exit_code == 0, again.output
    assert "0 decisions recorded" in again.text and "0 rows written" in again.text
    assert _actions(store_url) == 2


def test_the_day_defaults_to_today_by_the_clock(store_url):
    with clock.frozen(datetime(2027, 3, 28, 18)):
        outcome = credit("servicing", "run", "--database-url", store_url)

    assert outcome.exit_code == 0, outcome.output
    assert "servicing day 2027-03-28 (judged at 2027-03-29 00:00 UTC)" in outcome.text
    assert "reminder │ 1 │" in outcome.text  # three days before the due date


def test_a_malformed_day_is_refused(store_url):
    assert_refused(credit("servicing", "run", "--as-of", "07/04/2027", "--database-url", store_url),
                   "--as-of must be a date like 2023-01-01; got '07/04/2027'")
    assert _actions(store_url) == 0
