"""The firm page's receivables on the book: the list, the month-to-date statement and ageing, the CSV export.

The firm is a new buyer on the console's book with tests/servicing/march.py's scenario; the
clock stands at its NOW (20 April 2026, 12:00), so the statement runs from 1 April to then.
Amounts worked out by hand there (cents).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, update

from api.console.queries import exposure, firm
from credit import clock
from credit.servicing.amounts import RECEIVABLES
from credit.store.tables import Firm
from tests.api.console.facts import euros
from tests.api.console.pages import parse, sign_in
from tests.servicing.march import NOW, MarchBook, march_book


@pytest.fixture
def march(console_app, anonymous) -> Iterator[MarchBook]:  # noqa: ANN001
    with console_app.state.sessionmaker() as session:
        firm_id = session.execute(select(func.max(Firm.firm_id))).scalar_one() + 1
        book = march_book(session, firm_id=firm_id, name="Ferro <b>& Sons</b>")
        session.execute(update(RECEIVABLES).where(RECEIVABLES.c.receivable_id == book.receivables["R7"])
                        .values(shipment_reference="<script>alert(1)</script>"))
        session.commit()
    with clock.frozen(NOW):
        yield book


@pytest.fixture
def signed_in(anonymous, book, march):  # noqa: ANN001, ANN201
    sign_in(anonymous, book.keys["finance"])  # at NOW: the session lasts from then
    return anonymous


def test_the_firm_page_lists_its_receivables_with_what_each_owes(signed_in, march) -> None:
    response = signed_in.get(f"/console/firms/{march.firm_id}")
    assert response.status_code == 200, response.text
    page = parse(response.text)
    r = march.receivables
    rows = {int(tr.attrs["data-receivable-id"]): [td.text for td in tr.find_all("td")]
            for tr in page.find("table", class_="receivables").find("tbody").find_all("tr")}
    assert list(rows) == sorted(r.values())
    # id, shipment, issued, due, principal, owed now, status
    assert rows[r["R2"]] == [str(r["R2"]), "SHIP-R2", "2026-02-02", "2026-04-03", "1,000.00", "810.00", "overdue"]
    assert rows[r["R4"]] == [str(r["R4"]), "SHIP-R4", "2026-04-02", "2026-05-02", "200.00", "203.00", "open"]
    assert rows[r["R3"]][4:] == ["600.00", "509.00", "overdue"]
    assert rows[r["R7"]][1] == "<script>alert(1)</script>"  # shown as text ...
    assert "<script>alert(1)" not in response.text  # ... never run
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "Ferro &lt;b&gt;&amp; Sons&lt;/b&gt;" in response.text


def test_the_firm_page_shows_the_month_to_date_statement_and_ageing(signed_in, march) -> None:
    page = parse(signed_in.get(f"/console/firms/{march.firm_id}").text)
    figures = {tr.attrs["data-figure"]: tr.find("td").text for tr in page.find("table", class_="statement")
               .find_all("tr") if "data-figure" in tr.attrs}
    assert figures == {"opening": "EUR 1,927.25", "new": "EUR 203.00", "fees": "EUR 20.00", "payments": "EUR 50.00",
                       "adjustments": "EUR 10.00", "closing": "EUR 2,090.25", "credit": "EUR 140.00"}
    assert "Statement, 2026-04-01 to now" in page.text
    ageing = {tr.attrs["data-book-bucket"]: [td.text for td in tr.find_all("td")]
              for tr in page.find("table", class_="book-ageing").find("tbody").find_all("tr")}
    # days past due now: R4 current; R3 11, R2 17, R6 30; R1 75; R7 105, R5 121
    assert ageing == {"current": ["1", "203.00"], "1-30": ["3", euros(50_900 + 81_000 + 10_800)],
                      "31-60": ["0", "0.00"], "61-90": ["1", "100.00"], "90+": ["2", euros(4_575 + 31_450)]}


def test_the_export_link_downloads_every_receivable_of_the_firm(signed_in, march) -> None:
    page = parse(signed_in.get(f"/console/firms/{march.firm_id}").text)
    link = page.find("a", class_="export").attrs["href"]
    assert link == f"/console/firms/{march.firm_id}/receivables.csv"
    response = signed_in.get(link)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="receivables-firm-{march.firm_id}-2026-04-20.csv"')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    r = march.receivables
    assert {int(row["receivable_id"]): row["owed"] for row in rows} == {
        r["R1"]: "100.00", r["R2"]: "810.00", r["R3"]: "509.00", r["R4"]: "203.00", r["R5"]: "314.50",
        r["R6"]: "108.00", r["R7"]: "45.75"}


def test_the_export_needs_a_session_and_a_firm(anonymous, signed_in, march) -> None:
    assert signed_in.get("/console/firms/987654321/receivables.csv").status_code == 404
    assert signed_in.get("/console/firms/x1/receivables.csv").status_code == 404
    signed_in.cookies.clear()
    response = anonymous.get(f"/console/firms/{march.firm_id}/receivables.csv")
    assert response.status_code == 303 and "/console/sign-in" in response.headers["location"]


def test_the_exposure_chart_puts_a_returned_payment_back_on_the_line(console_app, march) -> None:
    with console_app.state.sessionmaker() as session:
        line = exposure.line_of_firm(session, march.firm_id)
        history = firm.line_history(session, march.firm_id, line, NOW)
    by_day = dict(history.exposure)
    # 25 March: P3's 100.00 came back (reopen). Posted then: R1 400 - 179 - 121, R2 1,000 - 200, R3 600 - 50,
    # R5 300, R6 100, R7 50 - 10  = 100 + 800 + 550 + 300 + 100 + 40
    assert by_day[NOW.replace(month=3, day=25).date()] == 189_000
    # 5 April, after P4: R1 100, R2 790, R3 500, R4 200, R5 300, R6 100, R7 40
    assert by_day[NOW.replace(month=4, day=5).date()] == 203_000 == line.posted_minor
