"""`credit ledger reconcile` and `credit ledger expire-holds` on a small store."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from credit import clock
from cli import app
from credit.ledger import authorize, balances, open_line
from credit.ledger.journal import LINES
from credit.store.engine import make_engine
from migrations import upgrade
from tests.api.checkout.factories import make_firm


def _store_with_a_hold(tmp_path, *, hold_for: timedelta):  # noqa: ANN001, ANN202
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session, session.begin():
        line = open_line(session, firm_id=make_firm(session), limit_minor=100_000, currency="EUR")
        authorize(session, line, 40_000, order_reference="PO-1", now=clock.now() - timedelta(days=1), hold_for=hold_for)
    return url, engine, line


def test_reconcile_exits_0_when_balances_match_the_journal(tmp_path):
    url, _, _ = _store_with_a_hold(tmp_path, hold_for=timedelta(days=14))
    result = CliRunner().invoke(app, ["ledger", "reconcile", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "1 lines and 1 holds match" in result.output


def test_reconcile_exits_1_and_lists_each_difference(tmp_path):
    url, engine, line = _store_with_a_hold(tmp_path, hold_for=timedelta(days=14))
    with engine.begin() as connection:
        connection.execute(update(LINES).where(LINES.c.line_id == line).values(pending_minor=39_000))

    result = CliRunner().invoke(app, ["ledger", "reconcile", "--database-url", url], terminal_width=200)

    assert result.exit_code == 1
    assert "1 differences" in result.output
    assert "pending_minor" in result.output and "39000" in result.output and "40000" in result.output


def test_expire_holds_releases_lapsed_holds_once(tmp_path):
    url, engine, line = _store_with_a_hold(tmp_path, hold_for=timedelta(hours=1))

    first = CliRunner().invoke(app, ["ledger", "expire-holds", "--database-url", url])
    again = CliRunner().invoke(app, ["ledger", "expire-holds", "--database-url", url])

    assert first.exit_code == 0 and "expired 1 holds" in first.output
    assert again.exit_code == 0 and "expired 0 holds" in again.output
    with Session(engine) as session:
        assert balances(session, line).pending_minor == 0
