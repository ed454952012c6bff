"""``credit demo``: the whole product on a small simulated marketplace."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from credit.cli.common import DatabaseUrl, app, console, open_store
from credit.cli.data import ingest_with_progress, print_ingest, print_simulation, simulate_with_progress
from credit.cli.features import print_panel


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
    from credit.features.history import History
    from credit.features.asof import monthly as month_starts
    from credit.features.panel import build_panel, write_panel

    with console.status("building monthly features from the store"):
        panel = build_panel(History.from_store(engine), month_starts(date(2023, 7, 1), date(2024, 12, 1)))
    print_panel(panel, *write_panel(panel, workdir / "features"))



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
