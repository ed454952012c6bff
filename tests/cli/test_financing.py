"""`credit financing run` on a small store: an order advance collected and settled, a second run does nothing."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy.orm import Session

from credit import clock
from credit.financing import journal
from credit.financing.tables import Financing
from credit.store.engine import make_engine
from migrations import upgrade
from tests.cli.invoke import assert_refused, credit
from tests.financing.factories import book_order_financing, make_order, make_parties, pay_invoice, ship_and_invoice

# 10,000.00 advanced on 2027-03-01 at 12% a year against a 12,000.00 order, invoiced 2027-03-10; the buyer pays
# the whole invoice on 2027-03-31: 30 days x 0.12 x 1,000,000 / 365 = 9,863.01 -> 9,863 fee, 190,137 released.


@pytest.fixture
def store(tmp_path) -> tuple[str, int]:  # noqa: ANN001
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session, session.begin():
        buyer, supplier = make_parties(session)
        order_id = make_order(session, buyer, supplier, 1_200_000, at=datetime(2027, 3, 1, 9))
        financing_id = book_order_financing(session, order_id, 1_000_000, annual_rate="0.120000", tenor_days=60,
                                            booked_on=date(2027, 3, 1), now=datetime(2027, 3, 1, 9))
        journal.pay_out(session, financing_id, reference="PAYOUT-1", value_date=date(2027, 3, 1), actor="payments",
                        now=datetime(2027, 3, 1, 10))
        invoice_id = ship_and_invoice(session, order_id, 1_200_000, at=datetime(2027, 3, 10, 8))
        pay_invoice(session, invoice_id, 1_200_000, at=datetime(2027, 3, 31, 15))
    engine.dispose()
    return url, financing_id


def _financing(url: str, financing_id: int) -> Financing:
    engine = make_engine(url)
    with Session(engine) as session:
        row = session.get(Financing, financing_id)
        session.expunge(row)
    engine.dispose()
    return row


def test_run_books_the_days_payments_and_a_second_run_books_nothing(store):
    url, financing_id = store
    with clock.frozen(datetime(2027, 4, 1, 2)):
        before = credit("financing", "run", "--as-of", "2027-03-30", "--database-url", url)
        first = credit("financing", "run", "--as-of", "2027-03-31", "--database-url", url)
        again = credit("financing", "run", "--as-of", "2027-03-31", "--database-url", url)

    assert before.exit_code == 0, before.output
    assert "financing day 2027-03-30" in before.text and "invoiced │ 1" in before.text
    assert first.exit_code == 0, first.output
    assert "settled │ 1" in first.text and "collections │ 1" in first.text
    row = _financing(url, financing_id)
    assert (row.status, row.collected_minor, row.fee_collected_minor, row.released_minor) == (
        "settled", 1_000_000, 9_863, 190_137)
    assert again.exit_code == 0 and "collections │ 0" in again.text and "settled │ 0" in again.text


def test_a_bad_day_is_refused_with_the_option_named(store):
    url, _ = store
    assert_refused(credit("financing", "run", "--as-of", "2027-02-30", "--database-url", url), "--as-of")
