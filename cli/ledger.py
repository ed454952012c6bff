"""Ledger commands: reconcile the cached balances with the journal, expire lapsed holds."""

from __future__ import annotations

import typer
from rich.table import Table

from cli.common import DatabaseUrl, app, console, open_store

ledger_app = typer.Typer(help="The checkout exposure ledger: reconcile balances, expire lapsed holds.",
                         no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")


@ledger_app.command("reconcile")
def reconcile_command(database_url: DatabaseUrl = "") -> None:
    """Recompute every line's and hold's balances from the transfers; exit 1 and list them if any differ."""
    from sqlalchemy.orm import Session

    from credit.ledger import reconcile

    engine = open_store(database_url)
    # One snapshot of caches and journal while the service keeps writing.
    with Session(engine.execution_options(isolation_level="REPEATABLE READ")
                 if engine.dialect.name == "postgresql" else engine) as session, session.begin():
        result = reconcile(session)
    if result.ok:
        console.print(f"ledger reconciled: {result.lines_checked} lines and {result.holds_checked} holds "
                      "match their transfers", highlight=False)
        return
    table = Table(title=f"{len(result.differences)} differences between cached balances and transfers")
    for column in ("table", "id", "column", "cached", "from transfers", "difference"):
        table.add_column(column, justify="right" if column not in ("table", "column") else "left")
    for d in result.differences:
        table.add_row(d.table, str(d.key), d.column, str(d.cached), str(d.recomputed), f"{d.cached - d.recomputed:+d}")
    console.print(table)
    console.print(f"checked {result.lines_checked} lines and {result.holds_checked} holds (amounts in minor units)",
                  highlight=False)
    raise typer.Exit(1)


@ledger_app.command("expire-holds")
def expire_holds_command(database_url: DatabaseUrl = "") -> None:
    """Release every pending hold past its expiry (safe to run again: a scheduler's job)."""
    from sqlalchemy.orm import Session

    from credit.ledger import expire_holds

    engine = open_store(database_url)
    with Session(engine) as session, session.begin():
        expired = expire_holds(session)
    console.print(f"expired {len(expired)} holds" + (f": {', '.join(map(str, expired))}" if expired else ""),
                  highlight=False)
