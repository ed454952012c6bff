"""Servicing commands: the daily job that applies the dunning steps to the book and ages it."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import DatabaseUrl, app, open_store, parse_date
from cli.output import print_servicing_day

servicing_app = typer.Typer(help="Servicing of the book's receivables: the daily dunning and ageing job.",
                            no_args_is_help=True)
app.add_typer(servicing_app, name="servicing")

AsOf = Annotated[str, typer.Option(
    "--as-of", show_default=False, metavar="YYYY-MM-DD",
    help="The servicing day (UTC); the book is judged at its end, the next day at 00:00. Default: today by the "
         "clock (CREDIT_NOW when set).")]


@servicing_app.command("run")
def run_command(as_of: AsOf = "", database_url: DatabaseUrl = "") -> None:
    """Apply the dunning steps due on a day (reminders, late fees, freeze, unfreeze, default, charge-off), each
    an audited decision, then write the day's ageing snapshot; a second run for the day changes nothing."""
    from sqlalchemy.orm import Session

    from credit import clock
    from credit.policy import default_policy
    from credit.servicing.run import run_day

    day = parse_date(as_of, "--as-of") if as_of else clock.today()
    engine = open_store(database_url)
    with Session(engine) as session, session.begin():
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})  # reads, then writes: lock first
        report = run_day(session, day, default_policy())
    print_servicing_day(report)
