"""``credit monitor financing`` on the hand-written book of tests/monitoring/financing_book_data.py, SQLite and PostgreSQL.

Numbers are the ones worked out in tests/monitoring/test_financing_book.py.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from credit import clock
from tests.cli.invoke import assert_refused, credit
from tests.monitoring.financing_book_data import make_financing_book


@pytest.fixture
def book_url(store: Engine) -> str:
    with clock.frozen(datetime(2026, 5, 2, 18, 0)), Session(store) as session:
        make_financing_book(session)
        session.commit()
    return store.url.render_as_string(hide_password=False)


def test_monitor_financing_prints_the_book_by_product_and_the_warnings(book_url: str) -> None:
    outcome = credit("monitor", "financing", "--as-of", "2026-05-02", "--database-url", book_url)
    assert outcome.exit_code == 0, outcome.output
    text = outcome.text
    assert "Financing book at the end of 2026-05-02 (EUR)" in text
    assert "┃ figure ┃ order ┃ receivable ┃ loan ┃" in text
    for row in ("outstanding (count) │ 2 │ 0 │ 1", "outstanding │ 10,000.00 │ 0.00 │ 8,900.00",
                "paid out │ 19,000.00 │ 12,800.00 │ 10,000.00", "collected │ 10,000.00 │ 9,100.00 │ 1,100.00",
                "recovered │ 3,000.00 │ 0.00 │ 0.00", "written off │ 0.00 │ 4,020.00 │ 0.00",
                "written back │ 0.00 │ 300.00 │ 0.00", "realised loss │ 0.00 │ 3,720.00 │ 0.00",
                "diluted │ 0.00 │ 500.00 │ 0.00", "dilution share of face │ — │ 3.33% │ —",
                "fees earned │ 185.96 │ 64.37 │ 500.00", "fees received │ 15.00 │ 44.37 │ 0.00",
                "released to suppliers │ 0.00 │ 655.63 │ 0.00", "overdue │ 1 / 6,000.00 │ 0 / 0.00 │ 1 / 8,900.00",
                "recourse (status now) │ 1 / 6,000.00 │ 0 / 0.00 │ 0 / 0.00"):
        assert row in text, row
    assert "Early warnings at the end of 2026-05-02" in text
    assert "order_past_due │" in text and "loan_behind │" in text
    assert ("basis period_end, elapsed_days 62, periods_completed 2, required 2,066.67, period_minimum 2,000.00, "
            "repaid 1,100.00, shortfall 966.67") in text


def test_the_day_defaults_to_today_and_a_quiet_day_says_so(book_url: str) -> None:
    with clock.frozen(datetime(2026, 2, 28, 9, 0)):
        outcome = credit("monitor", "financing", "--database-url", book_url)
    assert outcome.exit_code == 0, outcome.output
    assert "Financing book at the end of 2026-02-28" in outcome.text
    assert "Early warnings: none at the end of 2026-02-28." in outcome.text


def test_a_bad_date_is_refused(tmp_path) -> None:  # noqa: ANN001
    assert_refused(credit("monitor", "financing", "--as-of", "May", "--database-url",
                          f"sqlite:///{tmp_path / 'store.db'}"), "--as-of")
