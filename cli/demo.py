"""``credit demo``: the whole product on a small simulated marketplace."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from cli.common import DatabaseUrl, app, console, fail, installed_command, open_store, parse_date, use_tracking
from cli.output import (
    ingest_with_progress,
    print_ingest,
    print_judgement,
    print_panel,
    print_run,
    print_simulation,
    print_summary,
    print_windows,
    simulate_with_progress,
)
from credit import clock


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(
        help="Folder for the simulated history, the feature panel and the model report. The store and the champion's "
             "serving files go where `credit serve`, `credit retrain` and `credit score` find them: CREDIT_DATABASE_URL "
             "(default var/credit.db) and CREDIT_SERVING_FOLDER (default var/serving).")] = Path("var/demo"),
    firms: Annotated[int, typer.Option(help="Firms in the demo marketplace.")] = 4000,
    years: Annotated[int, typer.Option(help="Years of history (at least 3: the model windows need 12 labelled months after the first year, which the 365-day features need complete).", min=3, max=20)] = 4,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    start: Annotated[str, typer.Option(
        help="First day of the simulated history (YYYY-MM-DD). Default: the first of next month `years` years "
             "ago, so the history runs up to now and the service decides on it with the real clock. The history is "
             "read as of now: nothing after now is simulated.", show_default=False)] = "",
    applicants: Annotated[int, typer.Option(help="Buyers who apply for a credit line during the replayed months.",
                                            min=1)] = 400,
    serve: Annotated[bool, typer.Option(help="End by serving the API and the finance console until Ctrl-C.")] = True,
    port: Annotated[int, typer.Option(help="Port of the API and the console.")] = 8000,
    database_url: DatabaseUrl = "",
) -> None:
    """Run the whole product on a small simulated marketplace, then serve it: simulate, ingest, build features,
    train and promote the PD model, replay credit-line applications and checkout traffic, monitor, serve.

    Each step prints what it did; the last prints the finance console's address and demo API
    keys (generated now), then serves until Ctrl-C (``--no-serve`` stops there instead).
    """
    from credit.ingest import find_history_files
    from credit.simulate import SimulationConfig
    from credit.settings import Settings
    from credit.simulate.market import add_months

    now = clock.now()
    first_day = parse_date(start, "--start") if start else _default_start(years, now)
    data = workdir / "history"
    settings = Settings()
    url = database_url or settings.resolved_database_url()  # the one store every command and the service use
    console.rule("1. simulate")
    # The history is read as of now: a simulation that would run past now is cut there.
    full_end = datetime.combine(add_months(first_day, 12 * years), datetime.min.time())
    history_end = min(full_end, now)
    if add_months(first_day, 12 * years - 1) > now.date():
        fail(f"--start {first_day} with --years {years} runs more than a month past now ({now:%Y-%m-%d %H:%M} UTC): "
             f"the demo's history cannot hold the future; give an earlier --start.")
    try:
        config = SimulationConfig(firms=firms, years=years, seed=seed, start=first_day,
                                  ends_at=now if full_end > now else None)
    except ValueError as exc:
        fail(str(exc))
    print_simulation(simulate_with_progress(config, data), data)
    console.rule("2. ingest")
    engine = open_store(url)
    files, ignored = find_history_files([data])
    print_ingest(ingest_with_progress(engine, files), ignored, engine.url.render_as_string(hide_password=True))
    console.rule("3. a late delivery with mistakes")
    late = _write_late_delivery(data, workdir / "late-delivery")
    console.print(f"{late} repeats 3 payments already stored and has 3 broken rows:")
    print_ingest(ingest_with_progress(engine, find_history_files([late])[0]), [],
                  engine.url.render_as_string(hide_password=True))
    console.print(f"The store is at {url}; the quarantine says what was wrong with each refused row:")
    console.print(f"  {installed_command('credit')} quarantine --database-url {url}", highlight=False, soft_wrap=True)
    console.rule("4. features")
    from credit.features.asof import monthly as month_starts
    from credit.features.history import History
    from credit.features.panel import build_panel, first_complete_as_of, write_panel

    # the panel starts when its longest feature window (365 days) lies wholly within the history
    with console.status("building monthly features from the store"):
        panel = build_panel(History.from_store(engine), month_starts(first_complete_as_of(first_day),
                                                                _last_month_start(history_end)))
    print_panel(panel, *write_panel(panel, workdir / "features"))
    console.rule("5. models")
    serving = _train_and_promote(workdir, settings.resolved_serving_folder(), truth=data / "truth")
    if serving is None:
        return
    console.rule("6. the credit book")
    _open_book(engine, serving, panel.frame, history_end, applicants, seed)
    console.rule("7. monitoring")
    _monitor(engine, workdir / "features")
    console.rule("8. the service")
    _hand_over(engine, url, serving, serve, port)


def _monitor(engine, panel: Path) -> None:  # noqa: ANN001
    from credit.monitoring.run import monitor_champion

    with console.status("monitoring the champion: drift, realised against predicted defaults, early warnings"):
        run = monitor_champion(engine, panel)
    print_run(run)


def _open_book(engine, serving: Path, panel, history_end: datetime, applicants: int, seed: int) -> None:  # noqa: ANN001
    from credit.policy import default_policy
    from cli.demo_book import BookExists, open_demo_book

    started = time.perf_counter()
    try:
        with console.status(f"scoring every month and replaying {applicants} credit-line applications with "
                            "their checkout traffic"):
            book = open_demo_book(engine, serving, default_policy(), panel, history_end=history_end, score_months=12,
                                  origination_months=6, applicants=applicants, seed=seed)
    except BookExists as exc:
        console.print(f"Kept the book as it is: {exc}. Remove the demo folder to start afresh.", highlight=False)
        return
    console.print(f"Scored {book.scored_rows:,} firm-months at {len(book.scored_as_of)} month starts "
                  f"({book.scored_as_of[0]} to {book.scored_as_of[-1]}); the replay took {time.perf_counter() - started:.0f} s.",
                  highlight=False)
    outcomes = ", ".join(f"{count} {status}" for status, count in sorted(book.applications.items()))
    console.print(f"Applications: {outcomes}. Referred ones wait in the finance team's review queue.", highlight=False)
    traffic = ", ".join(f"{count:,} {what}" for what, count in sorted(book.checkout.items()))
    console.print(f"Checkout on the open lines: {traffic}.", highlight=False)
    if book.skipped:
        refused = ", ".join(f"{count:,} {what}" for what, count in sorted(book.skipped.items()))
        console.print(f"Refused by the ledger during the replay: {refused}.", highlight=False)
    _print_servicing(engine, book)
    _print_financing(engine, book, history_end)


def _print_financing(engine, book, history_end: datetime) -> None:  # noqa: ANN001 - an Engine, a BookSummary
    """What the financing replay did, and the financing book by product on the history's last day."""
    from sqlalchemy.orm import Session

    from cli.output import print_financing_book
    from credit.money import from_minor
    from credit.monitoring.financing_book import financing_book

    financing = book.financing
    requests = ", ".join(f"{count:,} {what}" for what, count in sorted(financing.requests.items()))
    console.print(f"Financing requests: {requests}.", highlight=False)
    steps = ", ".join(f"{count:,} {what}" for what, count in sorted(financing.days.items())
                      if not what.endswith("_minor") and not what.endswith(": financings") and not
                      what.endswith(": firms"))
    console.print(f"The financing book's daily job: {steps}. Suppliers under recourse repaid "
                  f"{financing.recoveries:,} financings ({from_minor(financing.recovered_minor):,}).",
                  highlight=False)
    last_day = (history_end - timedelta(microseconds=1)).date()
    with Session(engine) as session:
        print_financing_book(financing_book(session, last_day), max_warnings=0)


def _print_servicing(engine, book) -> None:  # noqa: ANN001 - an Engine and a cli.demo_book.BookSummary
    """What servicing did during the replay, and the book's ageing on its last day."""
    from sqlalchemy import func, select

    from credit.money import from_minor
    from credit.servicing.tables import AGEING_BUCKETS, BookAgeing, Receivable

    steps = ", ".join(f"{book.servicing[step]:,} {step.replace('_', ' ')}"
                      for step in ("reminder", "late_fee", "freeze", "unfreeze", "default", "charge_off")
                      if book.servicing[step])
    console.print(f"Servicing, every day of the replay: {steps or 'nothing due'}; late fees "
                  f"{from_minor(book.servicing_minor['late_fee']):,}, charged off "
                  f"{from_minor(book.servicing_minor['charge_off']):,}.", highlight=False)
    with engine.connect() as connection:
        last = connection.execute(select(func.max(BookAgeing.as_of))).scalar()
        ageing = {bucket: (lines, int(open_minor)) for bucket, lines, open_minor in connection.execute(
            select(BookAgeing.bucket, func.count(), func.sum(BookAgeing.open_minor))
            .where(BookAgeing.as_of == last).group_by(BookAgeing.bucket))}
        statuses = dict(connection.execute(select(Receivable.status, func.count()).group_by(Receivable.status)).all())
        charged, recovered = connection.execute(select(
            func.coalesce(func.sum(Receivable.charged_off_minor), 0),
            func.coalesce(func.sum(Receivable.recovered_minor), 0))).one()
    if last is None:
        return
    buckets = ", ".join(f"{bucket} {ageing.get(bucket, (0, 0))[0]} lines ({from_minor(ageing.get(bucket, (0, 0))[1]):,})"
                        for bucket in AGEING_BUCKETS)
    console.print(f"The book's ageing on {last}: {buckets}.", highlight=False)
    console.print("Receivables: " + ", ".join(f"{count:,} {status.replace('_', ' ')}"
                                                for status, count in sorted(statuses.items())) + ".", highlight=False)
    console.print(f"Charged off {from_minor(int(charged)):,}, recovered {from_minor(int(recovered)):,}: realised loss "
                  f"{from_minor(int(charged) - int(recovered)):,}.", highlight=False)


def _hand_over(engine, url: str, serving: Path, serve: bool, port: int) -> None:  # noqa: ANN001
    from sqlalchemy.orm import Session

    from api.app import serve as run_server
    from api.kit.auth import create_api_key
    from credit.settings import Settings

    with Session(engine) as session:
        _, finance_key = create_api_key(session, "demo finance team", "finance")
        _, checkout_key = create_api_key(session, "demo marketplace checkout", "checkout")
        _, analyst_key = create_api_key(session, "demo risk analyst", "analyst")
        session.commit()
    base = f"http://127.0.0.1:{port}"
    console.print(f"Finance console: {base}/console  (sign in with the finance key)", highlight=False)
    console.print(f"  finance key:  {finance_key}", highlight=False)
    console.print(f"  checkout key: {checkout_key}   (the marketplace's machine client: {base}/v1/docs)",
                  highlight=False)
    console.print(f"  analyst key:  {analyst_key}   (monitoring and metrics)", highlight=False)
    console.print("The keys were generated now and are stored only as hashes; more are issued with:", highlight=False)
    console.print(f"  {installed_command('credit')} api-key create NAME ROLE --database-url {url}", highlight=False,
                  soft_wrap=True)
    settings = Settings(database_url=url, serving_folder=str(serving.resolve()))
    environment = f"CREDIT_DATABASE_URL={url} CREDIT_SERVING_FOLDER={serving.resolve()} "
    console.print("At a month end, retrain, promote, export and re-score in one command; the running service picks "
                  "the new champion up (README, \"Month end\"):", highlight=False)
    console.print(f"  {environment}{installed_command('credit')} retrain --as-of YYYY-MM-DD", highlight=False,
                  soft_wrap=True)
    if not serve:
        console.print("To serve:", highlight=False)
        console.print(f"  {environment}{installed_command('credit')} serve --port {port}", highlight=False,
                      soft_wrap=True)
        return
    console.print(f"Serving on {base} until Ctrl-C.", highlight=False)
    run_server(settings, port=port)


def _default_start(years: int, now: datetime) -> date:
    """The first day of next month, ``years`` years ago: the history's last month is the current one, up to now.

    Whole months keep the simulator's truth on month starts, where the panel's as-of dates are.
    """
    from credit.simulate.market import add_months

    return add_months(now.date().replace(day=1), 1 - 12 * years)


def _last_month_start(end: datetime) -> date:
    """The latest month start before ``end``: the last as-of date whose month the history has begun."""
    return (end - timedelta(microseconds=1)).date().replace(day=1)


def _train_and_promote(workdir: Path, serving_folder: Path, truth: Path) -> Path | None:
    """Train, judge and promote; the champion's serving folder, or None when no model passed the gate."""
    from credit.models.config import load_model_config
    from credit.models.registry import AliasNotFoundError, export_serving_files
    from credit.features.panel import read_panel
    from credit.models import CHAMPION, REGISTERED_MODEL
    from pipelines.train_pd import apply_judgement, judge_challenger, train_pd

    use_tracking("")
    config = load_model_config()
    panel = read_panel(workdir / "features", config.training.label).observed()
    with console.status(f"training the PD model, the scorecard and a logistic baseline on {len(panel.frame):,} rows"):
        outcome = train_pd(panel, config, report_path=workdir / "model-report.html", truth=truth)
    print_windows(outcome.windows)
    print_summary(outcome.summary)
    console.print(f"Registered {REGISTERED_MODEL} version {outcome.registered.version} as challenger in MLflow "
                  f"({_mlflow_uri()}); report: {outcome.report_path}", highlight=False)
    judgement = judge_challenger(panel, config, outcome.registered.version)
    apply_judgement(judgement)
    print_judgement(judgement)
    try:
        serving = export_serving_files(REGISTERED_MODEL, CHAMPION, serving_folder)
    except AliasNotFoundError:
        console.print("No champion to serve yet: a model must pass the gate first (credit promote).", highlight=False)
        return None
    console.print(f"The champion's serving files (booster, calibrator, features, version): {serving}",
                  highlight=False)
    console.print("Browse the runs:", highlight=False)
    console.print(f"  {installed_command('mlflow')} ui --backend-store-uri {_mlflow_uri()}", highlight=False, soft_wrap=True)
    return serving


def _mlflow_uri() -> str:
    """Where MLflow tracks now."""
    import mlflow

    return mlflow.get_tracking_uri()


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
