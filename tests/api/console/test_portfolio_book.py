"""The portfolio page's servicing section on the hand-written book of tests/monitoring/servicing_book.py.

The numbers are those worked out in tests/monitoring/test_book.py; the clock stands on
2026-03-31, so the collections are March's (the month to date).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from credit import clock
from credit.settings import Settings
from tests.api.conftest import make_key
from tests.api.console.pages import Element, parse, sign_in
from tests.monitoring.servicing_book import make_book


def _client(tmp_path: Path, with_book: bool) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'console.db'}"))
    with clock.frozen(datetime(2026, 3, 31, 18, 0)), \
            TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        if with_book:
            with app.state.sessionmaker() as session:
                make_book(session)
                session.commit()
        sign_in(client, make_key(app, "finance"))
        yield client


@pytest.fixture
def serviced(tmp_path: Path) -> Iterator[TestClient]:
    yield from _client(tmp_path, with_book=True)


@pytest.fixture
def unserviced(tmp_path: Path) -> Iterator[TestClient]:
    yield from _client(tmp_path, with_book=False)


def _cells(row: Element) -> list[str]:
    return [cell.text for cell in row.find_all("td")]


def _portfolio(client: TestClient) -> Element:
    response = client.get("/console/portfolio")
    assert response.status_code == 200, response.text
    return parse(response.text)


def test_the_collections_of_the_month_to_date(serviced: TestClient) -> None:
    page = _portfolio(serviced)
    table = page.find("section", id="collections")
    assert "2026-03-01 to 2026-03-31" in table.find("h2").text
    figures = {row.attrs["data-figure"]: _cells(row)[0] for row in table.find_all("tr") if "data-figure" in row.attrs}
    assert figures == {"received": "1,180.00", "returned": "100.00", "late_fee": "15.00", "fee": "15.00",
                       "principal": "950.00", "credit_refund": "0.00", "credit_balance": "100.00",
                       "late_fees_assessed": "15.00", "late_fees_paid": "15.00", "charged_off": "1,950.00",
                       "recovered": "200.00", "realised_loss": "1,750.00"}
    assert "Received (5 repayments)" in table.text


def test_the_latest_roll_rate_matrix_and_the_chart_by_month_end(serviced: TestClient) -> None:
    section = _portfolio(serviced).find("section", id="roll-rates")
    assert "at 2026-02-27 (rows) and at 2026-03-31 (columns)" in section.find("caption").text
    # columns: lines, current, 1-30, 31-60, 61-90, 90+, settled
    assert _cells(section.find("tr", data_bucket="current")) == ["2", "50.0%", "50.0%", "·", "·", "·", "·"]
    assert _cells(section.find("tr", data_bucket="1-30")) == ["1", "·", "·", "100.0%", "·", "·", "·"]
    assert _cells(section.find("tr", data_bucket="61-90")) == ["0", "·", "·", "·", "·", "·", "·"]
    moved = section.find("tr", data_bucket="current").find("td", data_to="1-30")
    assert moved.attrs["title"] == "1 line, EUR 100.00 owed: 66.7% of the amount"
    chart = section.find("svg")
    tips = [title.text for title in chart.find_all("title")]
    assert {"current → 1-30, 2026-02-27: 25%", "current → 1-30, 2026-03-31: 50%",
            "31-60 → 61-90, 2026-03-31: 100%"} <= set(tips), tips


def test_the_vintages_at_their_latest_month_end_and_their_curves(serviced: TestClient) -> None:
    section = _portfolio(serviced).find("section", id="vintages")
    # captures, principal, months on book, charged off, > 30 days past due
    assert _cells(section.find("tr", data_vintage="2026-01")) == ["4", "4,100.00", "2", "47.6%", "17.1%"]
    assert _cells(section.find("tr", data_vintage="2026-02")) == ["1", "800.00", "1", "0.0%", "100.0%"]
    titles = [svg.find("text").text for svg in section.find_all("svg")]
    assert titles == ["Charged off by months on book", "More than 30 days past due by months on book"]


def test_default_by_grade_on_the_book_s_lines(serviced: TestClient) -> None:
    section = _portfolio(serviced).find("section", id="book-grades")
    # predicted (0.004 + 0.0045) / 2 = 0.425%: the console rounds half to even
    assert _cells(section.find("tr", data_grade="B")) == ["2", "0", "0.42%", "0.00%", "0.00% – 84.19%", "ok"]
    assert _cells(section.find("tr", data_grade="D")) == ["1", "1", "1.50%", "100.00%", "2.50% – 100.00%", "watch"]
    assert _cells(section.find("tr", data_grade="ungraded")) == ["1", "0", "—", "0.00%", "0.00% – 97.50%", "—"]
    assert "Clopper-Pearson, 95% interval" in section.text


def test_before_the_servicing_job_has_run_the_section_says_so(unserviced: TestClient) -> None:
    page = _portfolio(unserviced)
    assert "No two consecutive month ends have ageing snapshots yet" in page.find("section", id="roll-rates").text
    assert "No receivable has been captured yet." in page.find("section", id="vintages").text
    assert "No line has a receivable yet." in page.find("section", id="book-grades").text
    assert _cells(page.find("section", id="collections").find("tr", data_figure="received")) == ["0.00"]
