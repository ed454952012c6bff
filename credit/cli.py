"""The ``credit`` command line: simulate, ingest, schema and the demo."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(
    help="Marketplace credit: supply-chain finance and credit scoring for a B2B marketplace.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Manage the operational store's schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
features_app = typer.Typer(help="Point-in-time firm features: list the definitions, build a panel.",
                           no_args_is_help=True)
app.add_typer(features_app, name="features")
console = Console()
errors = Console(stderr=True)

DatabaseUrl = Annotated[
    str,
    typer.Option(
        "--database-url",
        envvar="CREDIT_DATABASE_URL",
        show_default=False,
        help="SQLAlchemy URL of the store. Default: the SQLite file var/credit.db. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/dbname.",
    ),
]


class UserError(Exception):
    """A mistake in what the user asked for: printed as one line, exit code 2."""


def _fail(message: str, code: int = 2) -> None:
    errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _engine(database_url: str):  # noqa: ANN202
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

    from credit.settings import Settings
    from credit.store.engine import make_engine
    from credit.store.migrate import upgrade

    url = database_url or Settings().resolved_database_url()
    try:
        engine = make_engine(url)
        upgrade(engine)
    except OperationalError as exc:
        _fail(f"cannot open the store at {url}: {str(exc.orig).strip().splitlines()[0]}")
    except (ArgumentError, NoSuchModuleError) as exc:  # a malformed URL or an unknown driver
        _fail(f"cannot use database URL {url!r}: {exc}")
    return engine


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=errors, transient=True, disable=not errors.is_terminal)


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
            firms=firms, years=years, seed=seed, start=_parse_date(start, "--start"),
            shocks=tuple(_parse_shock(s) for s in shock or ()), file_format=file_format,
        )
    except ValueError as exc:
        _fail(str(exc))
    _print_simulation(_simulate_with_progress(config, out), out)


def _simulate_with_progress(config, out: Path):  # noqa: ANN001, ANN202
    from credit.simulate import simulate as run_simulation

    with _progress() as progress:
        task = progress.add_task("simulating months", total=config.years * 12)
        return run_simulation(config, out, progress=lambda done, total: progress.update(task, completed=done, total=total))


def _parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"{option} must be a date like 2023-01-01; got {text!r}")


def _parse_shock(text: str):  # noqa: ANN202
    from credit.simulate import IndustryShock

    parts = text.split(":")
    if len(parts) != 4:
        _fail(f"--shock must be INDUSTRY:YYYY-MM:MONTHS:DEPTH; got {text!r}")
    industry, month, months, depth = parts
    try:
        return IndustryShock(industry=industry, start=date.fromisoformat(f"{month}-01"),
                             months=int(months), depth=float(depth))
    except ValueError as exc:
        _fail(f"--shock {text!r}: {exc}")


def _print_simulation(summary, out: Path) -> None:  # noqa: ANN001
    console.print(f"Simulated marketplace in {out}:")
    table = Table()
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in summary.rows.items():
        table.add_row(name, f"{count:,}")
    console.print(table)
    console.print(
        f"{summary.defaulted_firms:,} firms defaulted (annual default rate {summary.annual_default_rate:.1%}); "
        f"simulated in {summary.elapsed_seconds:.1f} s. Ground truth (true 12-month PD per firm and month "
        f"end, latent state): {out / 'truth'}"
    )


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of history tables (CSV or Parquet).", show_default=False)],
    database_url: DatabaseUrl = "",
) -> None:
    """Validate history files and load them into the store; bad rows go to quarantine.

    Files are named after their table (orders.csv, orders.parquet, ...); see docs/schema.md.
    Exit code 1 when a file is unusable as a whole (nothing of it is loaded).
    """
    from credit.ingest import UnusableFileError, find_history_files

    try:
        files, ignored = find_history_files(paths)
    except UnusableFileError as exc:
        _fail(str(exc))
    if not files:
        _fail(f"no history table files in {', '.join(map(str, paths))}; expected names like orders.csv or orders.parquet")
    engine = _engine(database_url)
    results = _ingest_with_progress(engine, files)
    _print_ingest(results, ignored, engine.url.render_as_string(hide_password=True))
    if any(r.error for r in results):
        raise typer.Exit(1)


def _ingest_with_progress(engine, files: list[tuple[str, Path]]):  # noqa: ANN001, ANN202
    from credit.ingest import ingest_files

    with _progress() as progress:
        tasks = {}

        totals = {table: _row_count(path) for table, path in files}

        def report(table: str, rows: int) -> None:
            if table not in tasks:
                tasks[table] = progress.add_task(f"loading {table}", total=totals[table])
            progress.update(tasks[table], completed=rows)

        return ingest_files(engine, files, progress=report)


def _row_count(path: Path) -> int | None:
    """Rows in a Parquet file from its footer; None for CSV (unknown until read)."""
    if path.suffix != ".parquet":
        return None
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).metadata.num_rows
    except Exception:  # noqa: BLE001 - an unreadable file is reported by ingest itself
        return None


def _print_ingest(results, ignored: list[Path], url: str) -> None:  # noqa: ANN001
    from credit.ingest.rules import rule_named

    console.print(f"Ingest into {url}:")
    table = Table()
    for column in ("table", "file", "read", "loaded", "unchanged", "quarantined"):
        table.add_column(column, justify="left" if column in ("table", "file") else "right")
    for r in results:
        if r.error:
            table.add_row(r.table, r.path.name, "[red]unusable[/]", "-", "-", "-")
            continue
        table.add_row(r.table, r.path.name, f"{r.rows_read:,}", f"{r.loaded:,}", f"{r.unchanged:,}", f"{r.quarantined:,}")
    console.print(table)
    by_rule = Table(title="Quarantined by rule (a row can break several):", title_justify="left")
    for column in ("table", "rule", "rows", "a valid row has"):
        by_rule.add_column(column, justify="right" if column == "rows" else "left")
    for r in results:
        for rule, count in sorted(r.by_rule.items()):
            by_rule.add_row(r.table, rule, f"{count:,}", rule_named(r.table, rule).requires)
    if by_rule.row_count:
        console.print(by_rule)
        console.print("Each quarantined row, with its values: credit quarantine --table TABLE --rule RULE")
    for path in ignored:
        console.print(f"ignored {path}: its name is not a history table")
    for r in results:
        if r.error:
            errors.print(f"[bold red]error:[/] {r.path}: {r.error}; nothing of it was loaded",
                         highlight=False, soft_wrap=True)


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

    engine = _engine(database_url)
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
        out.write_text(text)
        console.print(f"wrote {out}")
    else:
        sys.stdout.write(text)


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = "") -> None:
    """Create or migrate the store's tables to the latest schema."""
    engine = _engine(database_url)
    console.print(f"store at {engine.url.render_as_string(hide_password=True)} is at the latest schema")


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("--message", "-m", help="What the migration changes.")],
    database_url: DatabaseUrl = "",
) -> None:
    """Write a new migration from the difference between the store and credit/store/tables.py.

    For developers changing the data model: point it at a store at the latest migration,
    review the generated file under credit/store/migrations/versions/, then run make test.
    """
    from credit.store.migrate import new_revision

    new_revision(_engine(database_url), message)


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="Folder for the simulated files and the store.")] = Path("var/demo"),
    firms: Annotated[int, typer.Option(help="Firms in the demo marketplace.")] = 400,
    years: Annotated[int, typer.Option(help="Years of history.")] = 2,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    database_url: DatabaseUrl = "",
) -> None:
    """Run the whole product on a small simulated marketplace: simulate, ingest, build features."""
    from credit.ingest import find_history_files
    from credit.simulate import SimulationConfig

    data = workdir / "history"
    url = database_url or f"sqlite:///{(workdir / 'credit.db').resolve()}"
    console.rule("1. simulate")
    config = SimulationConfig(firms=firms, years=years, seed=seed, start=date(2023, 1, 1))
    _print_simulation(_simulate_with_progress(config, data), data)
    console.rule("2. ingest")
    engine = _engine(url)
    files, ignored = find_history_files([data])
    _print_ingest(_ingest_with_progress(engine, files), ignored, engine.url.render_as_string(hide_password=True))
    console.rule("3. a late delivery with mistakes")
    late = _write_late_delivery(data, workdir / "late-delivery")
    console.print(f"{late} repeats 3 payments already stored and has 3 broken rows:")
    _print_ingest(_ingest_with_progress(engine, find_history_files([late])[0]), [],
                  engine.url.render_as_string(hide_password=True))
    console.print(f"The store is at {url}; the quarantine says what was wrong with each refused row:")
    console.print(f"  credit quarantine --database-url {url}")
    console.rule("4. features")
    from credit.features.history import History
    from credit.features.asof import monthly as month_starts
    from credit.features.panel import build_panel, write_panel

    with console.status("building monthly features from the store"):
        panel = build_panel(History.from_store(engine), month_starts(date(2023, 7, 1), date(2024, 12, 1)))
    _print_panel(panel, *write_panel(panel, workdir / "features"))


@features_app.command("list")
def features_list() -> None:
    """Print every feature definition: column names, stream, role, aggregation and meaning."""
    from credit.features.catalog import MARKETPLACE_FEATURES
    from credit.features.domain import DERIVED, DOMAIN_FEATURES
    from credit.features.sources import SOURCES

    console.print("[bold]Declarative features[/] (credit/features/catalog.py): column(s), stream (event time), "
                  "role, aggregation; then the meaning.")
    for feature in MARKETPLACE_FEATURES:
        source = SOURCES[feature.source]
        console.print(f"[cyan]{', '.join(feature.column_names())}[/]  {source.name} ({source.event_time}) · "
                      f"{feature.entity} · {feature.of.describe()}", highlight=False, soft_wrap=True)
        console.print(f"    {feature.description}", highlight=False, soft_wrap=True)
    console.print("\n[bold]Domain features[/] (credit/features/domain.py); <role> is buyer or supplier.")
    for name, meaning in [(d.name, d.description) for d in DERIVED] + DOMAIN_FEATURES:
        console.print(f"[cyan]{name}[/]", highlight=False)
        console.print(f"    {meaning}", highlight=False, soft_wrap=True)
    console.print("\nFirmographics: industry, region, size_band, roles, verified, deposit_minor. "
                  "Label: default_<horizon>m.", highlight=False)


@features_app.command("build")
def features_build(
    as_of: Annotated[list[str] | None, typer.Option("--as-of", help="As-of date YYYY-MM-DD (features see events "
                                                   "strictly before its midnight). Repeatable.")] = None,
    monthly: Annotated[tuple[str, str] | None, typer.Option(
        "--monthly", metavar="FROM TO", help="The first day of every month from FROM to TO (YYYY-MM-DD).")] = None,
    history: Annotated[Path | None, typer.Option(
        help="Folder of Parquet history files (as `credit simulate` writes). Default: read the store.")] = None,
    out: Annotated[Path, typer.Option(help="Folder for panel.parquet and manifest.json.")] = Path("var/features"),
    horizon_months: Annotated[int, typer.Option(help="Label: a credit event within this many months.")] = 12,
    workers: Annotated[int, typer.Option(help="0: build here; N: on a local Dask cluster of N workers, "
                                              "partitioned by firm.")] = 0,
    database_url: DatabaseUrl = "",
) -> None:
    """Build the feature panel: one row per firm and as-of date, with its default label."""
    from credit.features.asof import AsOfError
    from credit.features.definitions import FeatureDefinitionError
    from credit.features.history import History, HistoryError
    from credit.features.panel import build_panel, write_panel

    dates = [_parse_date(text, "--as-of") for text in as_of or []]
    if monthly:
        from credit.features.asof import monthly as month_starts

        try:
            dates += month_starts(_parse_date(monthly[0], "--monthly"), _parse_date(monthly[1], "--monthly"))
        except AsOfError as exc:
            _fail(str(exc))
    if not dates:
        _fail("give at least one --as-of date or a --monthly FROM TO range")
    if horizon_months <= 0:
        _fail(f"--horizon-months must be a positive number of months; got {horizon_months}")
    try:
        source = History.from_parquet(history) if history else History.from_store(_engine(database_url))
        with console.status(f"building features at {len(set(dates))} as-of date(s) from {source.origin}"):
            if workers:
                from credit.features.distributed import build_panel_dask

                panel = build_panel_dask(source, dates, workers=workers, horizon_months=horizon_months)
            else:
                panel = build_panel(source, dates, horizon_months=horizon_months)
    except (AsOfError, FeatureDefinitionError, HistoryError) as exc:
        _fail(str(exc))
    data, meta = write_panel(panel, out)
    _print_panel(panel, data, meta)


def _print_panel(panel, data: Path, meta: Path) -> None:  # noqa: ANN001
    manifest = panel.manifest
    table = Table(title=f"Feature panel: {manifest['rows']:,} rows x {len(manifest['feature_columns'])} features")
    for column in ("as-of", "firms", "labelled", "defaults in horizon"):
        table.add_column(column, justify="right")
    for day, counts in manifest["rows_by_as_of"].items():
        table.add_row(day, f"{counts['rows']:,}", f"{counts['labelled']:,}", f"{counts['defaults']:,}")
    console.print(table)
    console.print(f"Built in {manifest['build_seconds']} s. Panel: {data}  manifest: {meta}")


def _write_late_delivery(history: Path, folder: Path) -> Path:
    """payments.csv: three rows already stored, then three rows a real feed gets wrong."""
    import pandas as pd

    payments = pd.read_parquet(history / "payments.parquet").head(3)
    invoice = pd.read_parquet(history / "invoices.parquet").iloc[0]
    next_id = int(pd.read_parquet(history / "payments.parquet", columns=["payment_id"]).payment_id.max()) + 1
    broken = pd.DataFrame([
        {"payment_id": next_id, "invoice_id": 999_999_999, "paid_at": invoice.issued_at, "amount_minor": "1000"},
        {"payment_id": next_id + 1, "invoice_id": invoice.invoice_id, "paid_at": invoice.issued_at,
         "amount_minor": "12.50"},
        {"payment_id": next_id + 2, "invoice_id": invoice.invoice_id,
         "paid_at": invoice.issued_at - pd.Timedelta(days=3), "amount_minor": "1000"},
    ])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "payments.csv"
    pd.concat([payments.astype({"amount_minor": str}), broken]).to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S")
    return folder


def main() -> None:
    app()
