"""Commands for the history data: simulate, ingest, quarantine, schema and db."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.common import DatabaseUrl, app, console, db_app, fail, open_store, parse_date, store_is_locked
from cli.output import ingest_with_progress, print_ingest, print_simulation, simulate_with_progress


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="Folder to write the tables and the ground truth to.")],
    firms: Annotated[int, typer.Option(help="Number of firms.")] = 1000,
    years: Annotated[int, typer.Option(help="Years of history.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 7,
    start: Annotated[str, typer.Option(help="First day of the history (YYYY-MM-DD).")] = "2023-01-01",
    shock: Annotated[
        list[str] | None,
        typer.Option(help="Industry downturn INDUSTRY:YYYY-MM:MONTHS:DEPTH, e.g. construction:2024-06:9:1.0. Repeatable."),
    ] = None,
    file_format: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
) -> None:
    """Simulate a marketplace's transaction history with its ground truth."""
    from credit.simulate import SimulationConfig

    try:
        config = SimulationConfig(
            firms=firms, years=years, seed=seed, start=parse_date(start, "--start"),
            shocks=tuple(_parse_shock(s) for s in shock or ()), file_format=file_format,
        )
    except ValueError as exc:
        fail(_named_as_options(str(exc)))
    _refuse_shocks_after_the_history(config, shock or [])
    print_simulation(simulate_with_progress(config, out), out)


# The simulator names its parameters; the user typed options.
_OPTION_OF_PARAMETER = {"`firms`": "--firms", "`years`": "--years", "`seed`": "--seed", "`file_format`": "--format"}


def _named_as_options(message: str) -> str:
    for parameter, option in _OPTION_OF_PARAMETER.items():
        message = message.replace(parameter, option)
    return message


def _refuse_shocks_after_the_history(config, texts: list[str]) -> None:  # noqa: ANN001
    """A shock from the history's end on never happens in it (nor in its truth): say so rather than ignore it."""
    from credit.simulate.market import add_months

    end = add_months(config.start, config.months)
    for text, scheduled in zip(texts, config.shocks, strict=True):
        if scheduled.start >= end:
            fail(f"--shock {text!r} starts on {scheduled.start}, after the simulated history "
                 f"({config.start} to {end}); give a month inside it or more --years")


def _parse_shock(text: str):  # noqa: ANN202
    from credit.simulate import IndustryShock

    parts = text.split(":")
    if len(parts) != 4:
        fail(f"--shock must be INDUSTRY:YYYY-MM:MONTHS:DEPTH; got {text!r}")
    industry, month, months, depth = parts
    try:
        first_day = date.fromisoformat(f"{month}-01")
    except ValueError:
        fail(f"--shock {text!r}: the month must be YYYY-MM; got {month!r}")
    try:
        length, size = int(months), float(depth)
    except ValueError:
        fail(f"--shock {text!r}: MONTHS must be a whole number and DEPTH a number; got {months!r} and {depth!r}")
    try:
        return IndustryShock(industry=industry, start=first_day, months=length, depth=size)
    except ValueError as exc:
        fail(f"--shock {text!r}: {exc}")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of history tables (CSV or Parquet).", show_default=False)],
    database_url: DatabaseUrl = "",
) -> None:
    """Validate history files and load them into the store; bad rows go to quarantine.

    Files are named after their table (orders.csv, orders.parquet, ...); see docs/schema.md.
    Exit code 1 when a file is unusable as a whole (nothing of it is loaded), or when a SQLite
    store's write lock, held by another process (the API), is not free within
    CREDIT_SQLITE_BUSY_TIMEOUT_SECONDS (default 30): the files loaded before stay loaded.
    """
    from credit.ingest import UnusableFileError, find_history_files

    try:
        files, ignored = find_history_files(paths)
    except UnusableFileError as exc:
        fail(str(exc))
    if not files:
        fail(f"no history table files in {', '.join(map(str, paths))}; expected names like orders.csv or orders.parquet")
    engine = open_store(database_url)
    url = engine.url.render_as_string(hide_password=True)
    try:
        results = ingest_with_progress(engine, files)
    except Exception as exc:
        if store_is_locked(exc):  # on SQLite; the file being loaded rolled back whole
            from credit.settings import Settings

            fail(f"the store {url} is being written by another process (the API, another command) and its write "
                 f"lock was not free within {Settings().sqlite_busy_timeout_seconds:g} s "
                 "(CREDIT_SQLITE_BUSY_TIMEOUT_SECONDS); the file being loaded was rolled back: run the command "
                 "again (files already loaded count as unchanged).", code=1)
        raise
    print_ingest(results, ignored, url)
    if any(r.error for r in results):
        raise typer.Exit(1)


@app.command("quarantine")
def show_quarantine(
    table: Annotated[str | None, typer.Option(help="Only this table.")] = None,
    rule: Annotated[str | None, typer.Option(help="Only this rule, e.g. fk:buyer_id.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.", min=1)] = 20,
    database_url: DatabaseUrl = "",
) -> None:
    """Show quarantined rows with the rule they broke."""
    from sqlalchemy import select

    from credit.store.tables import QuarantinedRow as Q

    engine = open_store(database_url)
    query = select(Q.table_name, Q.source, Q.row_number, Q.rule, Q.detail).order_by(Q.quarantine_id).limit(limit)
    if table:
        query = query.where(Q.table_name == table)
    if rule:
        query = query.where(Q.rule == rule)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    out = Table(title=f"{len(rows)} quarantined row(s)", title_justify="left")
    for column in ("table", "file", "row", "rule", "detail"):
        out.add_column(column)
    for row in rows:
        out.add_row(row.table_name, Path(row.source).name, str(row.row_number), row.rule, row.detail)
    console.print(out)


@app.command()
def schema(
    out: Annotated[Path | None, typer.Option(help="Write the reference to this file instead of printing it.")] = None,
) -> None:
    """Print the schema reference of the history tables (columns, allowed values, rules)."""
    from credit.store.schema_doc import render_schema_reference

    text = render_schema_reference()
    if out:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text)
        except OSError as exc:
            fail(f"cannot write --out {out}: {exc.strerror or exc}")
        console.print(f"wrote {out}")
    else:
        sys.stdout.write(text)


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = "") -> None:
    """Create or migrate the store's tables to the latest schema."""
    engine = open_store(database_url)
    console.print(f"store at {engine.url.render_as_string(hide_password=True)} is at the latest schema")


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("--message", "-m", help="What the migration changes.")],
    branch: Annotated[str, typer.Option(
        "--branch", help="The part of the store the migration belongs to, e.g. ledger, audit, monitoring: it follows "
        "that branch's latest migration. With --new-branch, the label of a new part.")],
    new_branch: Annotated[bool, typer.Option(
        "--new-branch", help="Start BRANCH from the history tables (0001), as each part of the store is, "
        "instead of extending it.")] = False,
    database_url: DatabaseUrl = "",
) -> None:
    """Write a new migration from the difference between the store and the declared tables.

    For developers changing the data model: point it at a store at the latest migration,
    review the generated file under migrations/versions/, then run make test. Each part of
    the store migrates on its own branch, so the migration names the branch it extends.
    """
    from alembic.util import CommandError

    from migrations import new_revision

    engine = open_store(database_url)
    try:
        written = new_revision(engine, message, branch=branch, new_branch=new_branch)
    except (CommandError, ValueError) as exc:
        fail(f"cannot write the migration: {exc}")
    console.print(f"wrote {written}; review it, then run make test", highlight=False, soft_wrap=True)
