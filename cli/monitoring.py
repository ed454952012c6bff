"""``credit monitor``: drift, realised against predicted defaults and the early-warning list, stored in the store;
``credit monitor book``: the book's own figures from the servicing tables;
``credit monitor financing``: the financing book by product and its early warnings.

``monitor`` is a group whose own options run the monitoring of the champion (as before the
book had figures of its own), so ``credit monitor --panel ...`` is unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from cli.common import DatabaseUrl, ServingOption, TrackingOption, app, console, fail, open_store, parse_date, use_tracking
from cli.output import print_book, print_financing_book, print_run

monitor_app = typer.Typer()
app.add_typer(monitor_app, name="monitor")


@monitor_app.callback(invoke_without_command=True)
def monitor(
    ctx: typer.Context,
    panel: Annotated[Path, typer.Option(
        "--panel", help="Feature panel folder (panel.parquet + manifest.json from `credit features build`; "
        "the demo writes var/demo/features). It must cover the champion's training window and the month monitored.")
    ] = Path("var/features"),
    serving: ServingOption = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="The month monitored (YYYY-MM-DD), an as-of date of the panel. Default: its latest.",
        show_default=False)] = None,
    training_from: Annotated[str | None, typer.Option(
        "--training-from", help="First as-of date the champion was fitted on. Default: read from its MLflow run.",
        show_default=False)] = None,
    training_to: Annotated[str | None, typer.Option(
        "--training-to", help="Last as-of date the champion was fitted on (with --training-from).",
        show_default=False)] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", help="Monitoring thresholds TOML; keys left out keep the defaults of "
        "credit/monitoring/monitoring.toml.", show_default=False)] = None,
    tracking_uri: TrackingOption = "",
    database_url: DatabaseUrl = "",
) -> None:
    """Monitor the champion (PSI, calibration by grade and vintage, early warnings); `book`, `financing`: the books.

    Run with these options and no command: the run is stored in the operational store, where
    the API (/v1/monitoring/...) and the finance console read it. `credit monitor book` prints
    the book's own figures from the servicing tables instead, `credit monitor financing` the
    financing book by product and its early warnings.
    """
    if ctx.invoked_subcommand is not None:
        return
    from credit.settings import Settings

    if (training_from is None) != (training_to is None):
        fail("give both --training-from and --training-to, or neither (then they are read from MLflow)")
    window = None
    if training_from is not None:
        window = (parse_date(training_from, "--training-from"), parse_date(training_to, "--training-to"))
        if window[0] > window[1]:
            fail(f"--training-from ({window[0]}) must not be after --training-to ({window[1]})")
    day = parse_date(as_of, "--as-of") if as_of else None
    folder = serving or Settings().resolved_serving_folder()
    if not folder.is_dir():
        fail(f"no serving files at {folder}: run `credit models export-champion --out {folder}` first.")
    if not panel.is_dir():
        fail(f"no feature panel at {panel}: build one with `credit features build --out {panel}`")
    from credit.monitoring.config import MonitoringConfigError, load_monitoring_config
    from credit.monitoring.run import MonitoredModel, MonitoringError, monitor as run_monitoring

    try:
        thresholds = load_monitoring_config(config)
    except MonitoringConfigError as exc:
        fail(str(exc))
    if window is None:
        use_tracking(tracking_uri)
    engine = open_store(database_url)
    try:
        model = MonitoredModel.from_serving(folder, window)
        with console.status(f"monitoring {model.name} version {model.version} on {panel}"):
            run = run_monitoring(engine, panel, model, as_of=day, config=thresholds)
    except (MonitoringError, ValueError, OSError) as exc:
        fail(str(exc))
    print_run(run)


@monitor_app.command("book")
def book(
    start: Annotated[str | None, typer.Option(
        "--from", help="First day of the collections period (YYYY-MM-DD). Default: the first day of the month "
        "of --to.", show_default=False)] = None,
    end: Annotated[str | None, typer.Option(
        "--to", help="Last day of the collections period, included (YYYY-MM-DD). Default: today (UTC).",
        show_default=False)] = None,
    database_url: DatabaseUrl = "",
) -> None:
    """Print the book's own figures from the servicing tables: collections, roll rates, vintages, default by grade.

    Roll rates compare the ageing snapshots of consecutive month ends (the last snapshot of
    each month that has ended); vintages group receivables by capture month; the grade table
    compares the PD at line opening with the lines that defaulted. The period applies to the
    collections only. The API's GET /v1/monitoring/book and the console's portfolio page show
    the same figures.
    """
    from sqlalchemy.orm import Session

    from credit import clock
    from credit.monitoring.book import book_performance
    from credit.policy import default_policy

    last = parse_date(end, "--to") if end else clock.today()
    first = parse_date(start, "--from") if start else last.replace(day=1)
    if first > last:
        fail(f"--from ({first}) must not be after --to ({last})")
    engine = open_store(database_url)
    try:
        with Session(engine) as session:
            performance = book_performance(session, default_policy(), start=first, end=last)
    finally:
        engine.dispose()
    print_book(performance)


@monitor_app.command("financing")
def financing(
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="The business day (YYYY-MM-DD): journal rows booked on or before it, the marketplace's "
        "history before its end. Default: today (UTC).", show_default=False)] = None,
    database_url: DatabaseUrl = "",
) -> None:
    """Print the financing book by product at the end of a day, and its early warnings.

    For orders, receivables and loans: outstanding, paid out, collected, recovered, realised
    loss, dilution, fees, and what is overdue, in recourse or defaulted; then each financing
    an early-warning rule flags (invoice overdue or disputed, order advance past due, loan
    behind its minimum repayments). Money figures are read from the financing journal up to
    the day, so a past day shows the book as it stood; recourse and defaulted are the
    statuses as they stand now. The API's GET /v1/monitoring/financing shows the same.
    """
    from sqlalchemy.orm import Session

    from credit import clock
    from credit.monitoring.financing_book import financing_book

    day = parse_date(as_of, "--as-of") if as_of else clock.today()
    engine = open_store(database_url)
    try:
        with Session(engine) as session:
            book = financing_book(session, day)
    finally:
        engine.dispose()
    print_financing_book(book)
