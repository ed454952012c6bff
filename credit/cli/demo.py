"""``credit demo``: the whole product on a small simulated marketplace."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from credit.cli.common import DatabaseUrl, app, console, open_store
from credit.cli.data import ingest_with_progress, print_ingest, print_simulation, simulate_with_progress
from credit.cli.features import print_panel
from credit.cli.models import print_judgement, print_summary, print_windows, use_tracking


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="Folder for the simulated files and the store.")] = Path("var/demo"),
    firms: Annotated[int, typer.Option(help="Firms in the demo marketplace.")] = 4000,
    years: Annotated[int, typer.Option(help="Years of history (at least 3: the model windows need 12 labelled months after 6 months of warm-up).")] = 4,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    database_url: DatabaseUrl = "",
) -> None:
    """Run the whole product on a small simulated marketplace: simulate, ingest, build features, train models."""
    from credit.ingest import find_history_files
    from credit.simulate import SimulationConfig

    data = workdir / "history"
    url = database_url or f"sqlite:///{(workdir / 'credit.db').resolve()}"
    console.rule("1. simulate")
    config = SimulationConfig(firms=firms, years=years, seed=seed, start=date(2023, 1, 1))
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
    console.print(f"  credit quarantine --database-url {url}")
    console.rule("4. features")
    from credit.features.asof import monthly as month_starts
    from credit.features.history import History
    from credit.features.panel import build_panel, write_panel

    with console.status("building monthly features from the store"):
        panel = build_panel(History.from_store(engine), month_starts(date(2023, 7, 1), date(2022 + years, 12, 1)))
    print_panel(panel, *write_panel(panel, workdir / "features"))
    console.rule("5. models")
    _train_and_promote(workdir, truth=data / "truth")


def _train_and_promote(workdir: Path, truth: Path) -> None:
    from credit.models.config import load_model_config
    from credit.models.registry import AliasNotFoundError, export_serving_files
    from pipelines.train_pd import CHAMPION, REGISTERED_MODEL, apply_judgement, judge_challenger, read_panel, train_pd

    use_tracking("")
    config = load_model_config()
    panel = read_panel(workdir / "features", config.training.label)
    with console.status(f"training the PD model, the scorecard and a logistic baseline on {len(panel.rows):,} rows"):
        outcome = train_pd(panel, config, report_path=workdir / "model-report.html", truth=truth)
    print_windows(outcome.windows)
    print_summary(outcome.summary)
    console.print(f"Registered {REGISTERED_MODEL} version {outcome.registered.version} as challenger in MLflow "
                  f"({_mlflow_uri()}); report: {outcome.report_path}", highlight=False)
    judgement = judge_challenger(panel, config, outcome.registered.version)
    apply_judgement(judgement)
    print_judgement(judgement)
    try:
        serving = export_serving_files(REGISTERED_MODEL, CHAMPION, workdir / "serving")
    except AliasNotFoundError:
        console.print("No champion to serve yet: a model must pass the gate first (credit promote).", highlight=False)
    else:
        console.print(f"The champion's serving files (booster, calibrator, features, version): {serving}",
                      highlight=False)
    console.print("Browse the runs: .venv/bin/mlflow ui --backend-store-uri " + _mlflow_uri(), highlight=False)


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
