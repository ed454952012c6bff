"""Financing commands: the daily job of the financing book (order and receivables financing, loans)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import DatabaseUrl, app, open_store, parse_date
from cli.output import print_financing_day

financing_app = typer.Typer(help="The financing book: order and receivables financing and transaction-flow loans.",
                            no_args_is_help=True)
app.add_typer(financing_app, name="financing")

AsOf = Annotated[str, typer.Option(
    "--as-of", show_default=False, metavar="YYYY-MM-DD",
    help="The business day (UTC); the history is read as known at its end. Default: today by the clock "
         "(CREDIT_NOW when set).")]


@financing_app.command("run")
def run_command(as_of: AsOf = "", database_url: DatabaseUrl = "") -> None:
    """Book a day on every financing: invoices carrying order advances, the debtors' payments, dilution,
    loan offers and withholding from sales; then the steps due (recourse, clawback, default, overdue,
    write-off), each an audited decision. A second run for the day changes nothing."""
    from sqlalchemy.orm import Session

    from credit import clock
    from credit.financing.run import run_day
    from credit.policy import default_policy

    day = parse_date(as_of, "--as-of") if as_of else clock.today()
    engine = open_store(database_url)
    with Session(engine) as session, session.begin():
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})  # reads, then writes: lock first
        report = run_day(session, day, default_policy())
    print_financing_day(report)
