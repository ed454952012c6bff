"""``credit monitor book`` on the hand-written book of tests/monitoring/servicing_book.py, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from credit import clock
from tests.cli.invoke import assert_refused, credit
from tests.monitoring.servicing_book import make_book


@pytest.fixture
def book_url(store: Engine) -> str:
    with Session(store) as session:
        make_book(session)
        session.commit()
    return store.url.render_as_string(hide_password=False)


def test_monitor_book_prints_march_collections_roll_rates_vintages_and_grades(book_url: str) -> None:
    outcome = credit("monitor", "book", "--from", "2026-03-01", "--to", "2026-03-31", "--database-url", book_url)
    assert outcome.exit_code == 0, outcome.output
    text = outcome.text
    assert "Collections 2026-03-01 to 2026-03-31 (EUR)" in text
    for label, amount in (("received (5 repayments)", "1,180.00"), ("returned by the bank (1)", "100.00"),
                          ("allocated to principal", "950.00"), ("credit balances at the end of 2026-03-31", "100.00"),
                          ("late fees assessed", "15.00"), ("charged off", "1,950.00"), ("recovered", "200.00"),
                          ("realised loss, net", "1,750.00")):
        assert f"{label} │ {amount}" in text, label
    # the latest matrix (Feb-27 to Mar-31): 2 current lines, one to 1-30 (10,000 of 15,000 owed)
    assert "Roll rates 2026-02-27 to 2026-03-31" in text
    assert "current │ 2 │ 1 (50.0%; 33.3%) │ 1 (50.0%; 66.7%) │" in text
    # by month end: current -> 1-30 was 25.0% to Feb-27 and 50.0% to Mar-31
    assert "2026-02-27 │ 25.0% │ 100.0% │ — │ —" in text
    assert "2026-03-31 │ 50.0% │ 100.0% │ 100.0% │ —" in text
    # January's vintage: 4,100.00 of principal; 47.6% charged off and 17.1% past 30 days at 2 months on book
    assert "2026-01 │ 4 │ 4,100.00 │ 0.0% / 0.0% │ 0.0% / 0.0% │ 47.6% / 17.1%" in text
    assert "2026-02 │ 1 │ 800.00 │ 0.0% / 0.0% │ 0.0% / 100.0%" in text
    assert "D │ 1 │ 1 │ 1.50% │ 100.00% │ [2.50%, 100.00%] │ watch" in text
    assert "ungraded │ 1 │ 0 │ — │ 0.00% │ [0.00%, 97.50%] │ —" in text


def test_the_period_defaults_to_the_month_to_date(book_url: str) -> None:
    with clock.frozen(datetime(2026, 4, 20, 12, 0)):
        outcome = credit("monitor", "book", "--database-url", book_url)
    assert outcome.exit_code == 0, outcome.output
    assert "Collections 2026-04-01 to 2026-04-20" in outcome.text
    assert "realised loss, net │ -500.00" in outcome.text


def test_an_empty_book_says_what_is_missing(tmp_path) -> None:  # noqa: ANN001
    outcome = credit("monitor", "book", "--from", "2026-03-01", "--to", "2026-03-31",
                     "--database-url", f"sqlite:///{tmp_path / 'empty.db'}")
    assert outcome.exit_code == 0, outcome.output
    assert "Roll rates: no two consecutive month ends in the ageing snapshots yet." in outcome.text
    assert "Vintages: no receivable captured yet." in outcome.text
    assert "Realised against predicted default: no line has a receivable yet." in outcome.text


def test_a_period_ending_before_it_starts_or_a_bad_date_is_refused(tmp_path) -> None:  # noqa: ANN001
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert_refused(credit("monitor", "book", "--from", "2026-03-02", "--to", "2026-03-01", "--database-url", url),
                   "--from (2026-03-02) must not be after --to (2026-03-01)")
    assert_refused(credit("monitor", "book", "--to", "March", "--database-url", url), "--to")
