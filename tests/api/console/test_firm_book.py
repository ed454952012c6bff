"""The firm page's receivables on the book: the list, the month-to-date statement and ageing, the CSV export.

The firm is a new buyer on the console's book with tests/servicing/march.py's scenario; the
clock stands at its NOW (20 April 2026, 12:00), so the statement runs from 1 April to then.
Amounts worked out by hand there (cents).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import func, select, update

from api.console.queries import exposure, firm
from credit import clock, ledger
from credit.ledger.journal import LINES
from credit.servicing.amounts import RECEIVABLES
from credit.store.tables import Firm, Invoice, Order, Payment
from tests.api.console.facts import ageing, euros
from tests.api.console.pages import parse, sign_in
from tests.ledger.factories import make_firm
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


def _marketplace_purchases(session, buyer_id: int) -> None:  # noqa: ANN001
    """The buyer's own marketplace history, by hand: three orders with their invoices and payments, and one invoice
    after NOW. The line opened on 2025-11-01 (march.py)."""
    supplier_id = buyer_id + 1
    make_firm(session, firm_id=supplier_id, name="Rolled Steel Works", roles="supplier")
    ids = {table: (session.execute(select(func.max(column))).scalar() or 0) + 1
           for table, column in (("order", Order.order_id), ("invoice", Invoice.invoice_id),
                                 ("payment", Payment.payment_id))}

    def bought(number: int, placed: datetime, issued: datetime, due: datetime, amount: int,
               payments: tuple[tuple[datetime, int], ...] = ()) -> None:
        order_id, invoice_id = ids["order"] + number, ids["invoice"] + number
        session.add(Order(order_id=order_id, buyer_id=buyer_id, supplier_id=supplier_id, created_at=placed,
                          amount_minor=amount, category="parts", payment_terms="net30"))
        session.flush()  # no ORM relationship orders the inserts: the order first, for the invoice's key
        session.add(Invoice(invoice_id=invoice_id, order_id=order_id, supplier_id=supplier_id, buyer_id=buyer_id,
                            issued_at=issued, due_at=due, amount_minor=amount))
        session.flush()
        for index, (paid_at, paid) in enumerate(payments):
            session.add(Payment(payment_id=ids["payment"] + 10 * number + index, invoice_id=invoice_id,
                                paid_at=paid_at, amount_minor=paid))
        session.flush()

    # A: before the line, 500.00, 200.00 paid: 300.00 open, due 2025-11-19, so overdue at NOW
    bought(0, datetime(2025, 10, 15), datetime(2025, 10, 20), datetime(2025, 11, 19), 50_000,
           ((datetime(2025, 12, 1), 20_000),))
    # B: since the line, 1,200.00 due 2026-05-04: current at NOW; the 100.00 paid on 2026-04-22 is after NOW
    bought(1, datetime(2026, 3, 1), datetime(2026, 3, 5), datetime(2026, 5, 4), 120_000,
           ((datetime(2026, 4, 22), 10_000),))
    # C: since the line, 400.00 paid in full before NOW: not open
    bought(2, datetime(2026, 2, 1), datetime(2026, 2, 2), datetime(2026, 3, 4), 40_000, ((datetime(2026, 3, 1), 40_000),))
    # D: issued after NOW: not yet owed
    bought(3, datetime(2026, 4, 21), datetime(2026, 4, 25), datetime(2026, 5, 25), 70_000)


def test_the_firm_page_labels_both_owed_figures_and_reconciles_them(console_app, signed_in, march) -> None:
    with console_app.state.sessionmaker() as session:
        _marketplace_purchases(session, march.firm_id)
        # an order authorized on the line the day before NOW, not shipped: held, not owed
        ledger.authorize(session, march.line_id, 7_500, order_reference="PO-held", terms_days=30,
                         now=datetime(2026, 4, 19, 9))
        session.commit()
    page = parse(signed_in.get(f"/console/firms/{march.firm_id}").text)
    table = page.find("table", class_="owed-reconciliation")
    rows = {tr.attrs["data-owed"]: [cell.text for cell in tr.find_all("th")] + [td.text for td in tr.find_all("td")]
            for tr in table.find_all("tr") if "data-owed" in tr.attrs}
    # Sellers: A 300.00 (overdue, ordered before the line) + B 1,200.00 (current, ordered since) = 1,500.00.
    # Ours, from march.py's table at NOW, principal owed: R5 300.00, R7 50 - 10 = 40.00, R1 400 - 179 - 121 = 100.00,
    # R6 100.00, R2 1,000 - 200 - 10 = 790.00, R3 600 - 50 - 100 + 100 - 50 = 500.00, R4 200.00: posted 2,030.00 on
    # 7 receivables; fees owed: R5 4.50 + 10, R7 0.75 + 5, R6 8, R2 20, R3 9, R4 3 = 60.25; on the book 2,090.25,
    # the statement's closing balance. Held: 75.00. Difference: 1,500.00 - 2,030.00 = -530.00.
    assert rows == {
        "sellers": ["Owed to its sellers: open marketplace invoices", "2 invoices", "1,500.00"],
        "sellers-overdue": ["of which overdue", "", "300.00"],
        "before-line": ["for orders placed before its line opened (2025-11-01)", "1", "300.00"],
        "since-line": ["for orders placed since", "1", "1,200.00"],
        "posted": ["Owed to us: posted exposure on its credit line", "7 receivables", "2,030.00"],
        "fees": ["+ terms and late fees owed on them", "", "60.25"],
        "book": ["= owed on the book (the statement's closing balance)", "", "2,090.25"],
        "pending": ["Held on its line, not captured yet (counts against the limit, owed by no one yet)", "", "75.00"],
        "difference": ["Open marketplace invoices less posted exposure", "", "-530.00"],
    }
    closing = page.find("table", class_="statement").find("tr", data_figure="closing").find("td").text
    assert closing == "EUR 2,090.25"
    hint = page.find("section", class_="owed").find("p", class_="hint").text
    assert "EUR 300.00 owed for orders placed before the line opened was not bought with the line" in hint
    # the line card and the invoice card say which figure they are
    assert "Posted (owed to us) EUR 2,030.00" in page.find("section", class_="line-card").text
    assert any(h2.text == "Marketplace invoices it owes its sellers" for h2 in page.find_all("h2"))


def test_a_firm_without_a_line_shows_its_marketplace_invoices_and_owes_us_nothing_on_a_line(finance, console_app,
                                                                                           book) -> None:
    with console_app.state.sessionmaker() as session:
        lined = set(session.execute(select(LINES.c.firm_id)).scalars())
        firm_id = next(firm for firm in session.execute(select(Invoice.buyer_id).distinct().order_by(Invoice.buyer_id))
                       .scalars() if firm not in lined)
    expected = ageing(console_app.state.engine, firm_id, clock.now())
    page = parse(finance.get(f"/console/firms/{firm_id}").text)
    table = page.find("table", class_="owed-reconciliation")
    assert [tr.attrs["data-owed"] for tr in table.find_all("tr") if "data-owed" in tr.attrs] == [
        "sellers", "sellers-overdue"]
    open_count = sum(count for count, _ in expected.values())
    assert table.find("tr", data_owed="sellers").find_all("td")[1].text == euros(
        sum(total for _, total in expected.values()))
    assert table.find("tr", data_owed="sellers").find_all("td")[0].text.startswith(f"{open_count:,} invoice")
    assert table.find("tr", data_owed="sellers-overdue").find_all("td")[1].text == euros(
        sum(total for label, (_, total) in expected.items() if label != "Current"))
    assert "It has no credit line, so it owes us nothing on one" in page.find("section", class_="owed").text
