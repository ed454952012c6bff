"""``credit demo`` end to end on a smaller marketplace: it ends with a book to review and keys to sign in with."""

from __future__ import annotations

import re
import shlex
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from sqlalchemy import Date, DateTime, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.kit.auth import hash_key
from api.kit.tables import ApiKey
from credit import clock
from cli import app
from credit.financing.tables import Financing
from credit.monitoring.results import latest_run
from credit.origination.tables import CreditLineApplicationRecord as Application
from credit.store.engine import make_engine
from credit.store.tables import Base, QuarantinedRow

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
    pytest.mark.filterwarnings("ignore:Operation with range is deprecated:DeprecationWarning:mlflow"),
]


CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "tests" / "artifacts" / "screenshots"

# A moment in the middle of a month: the default history runs to it and is cut there.
NOW = datetime(2026, 10, 14, 10, 30, 15)
SCHEDULED = {("invoices", "due_at"), ("holds", "expires_at"), ("console_sessions", "expires_at"),
             ("receivables", "due_at"), ("financings", "due_on"), ("loan_offers", "expires_on")}
"""Moments agreed in advance (a due date, an expiry), which may lie after now; every other time is an event."""


def test_the_demo_ends_with_referred_applications_a_monitoring_run_and_working_keys(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDIT_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("CREDIT_ARTIFACT_LOCATION", (tmp_path / "mlruns").as_uri())
    workdir = tmp_path / "demo"
    # the store and the serving files go where the settings say, as for `credit serve` and `credit retrain`
    monkeypatch.setenv("CREDIT_DATABASE_URL", f"sqlite:///{workdir / 'credit.db'}")
    monkeypatch.setenv("CREDIT_SERVING_FOLDER", str(workdir / "serving"))
    try:
        with clock.frozen(NOW):
            result = CliRunner().invoke(app, [
                "demo", "--workdir", str(workdir), "--firms", "1200", "--years", "3",
                "--applicants", "60", "--port", "8123", "--no-serve"])
    finally:
        mlflow.set_tracking_uri(None)
    out = result.output
    assert result.exit_code == 0, out
    for step in ("1. simulate", "5. models", "6. the credit book", "7. monitoring", "8. the service"):
        assert step in out
    text = " ".join(out.split())
    servicing = re.search(r"Servicing, every day of the replay: ([^;]+);", text)
    assert servicing and "reminder" in servicing.group(1), text  # late payers in the history got reminders
    assert re.search(r"The book's ageing on \d{4}-\d{2}-\d{2}: current \d+ lines", text), text
    assert "Finance console: http://127.0.0.1:8123/console" in out
    assert re.search(r"Financing requests: .*\d+ order: booked.*\d+ receivable: booked", text), text
    assert re.search(r"Financing book at the end of 2026-10-14", text), text  # the history ends today
    keys = dict(re.findall(r"(finance|checkout|analyst) key:\s+(mck_[A-Za-z0-9_-]{43})", out))
    assert set(keys) == {"finance", "checkout", "analyst"}

    engine = make_engine(f"sqlite:///{workdir / 'credit.db'}")
    with Session(engine) as session:
        roles = {role: session.execute(select(ApiKey.role).where(ApiKey.key_hash == hash_key(key))).scalar()
                 for role, key in keys.items()}
        referred = session.execute(select(Application.decision_id).where(Application.status == "referred")).all()
        run = latest_run(session)
        quarantined = session.execute(select(QuarantinedRow.table_name, QuarantinedRow.rule)).all()
        paid_out = dict(session.execute(select(Financing.kind, func.count()).where(Financing.paid_out_minor > 0)
                                        .group_by(Financing.kind)).all())
    latest = _latest_times(engine)
    engine.dispose()
    assert set(paid_out) == {"order", "receivable", "loan"}, paid_out  # every product is in the book
    assert roles == {"finance": "finance", "checkout": "checkout", "analyst": "analyst"}
    assert len(referred) >= 1  # the review queue has work in it
    referred_printed = int(re.search(r"(\d+) referred", out).group(1))
    assert referred_printed == len(referred)
    assert run is not None and run.as_of.isoformat() == "2026-10-01"  # the latest month begun by now

    assert {key: at for key, at in latest.items() if at > NOW} == {}
    # ingest refuses rows from the future: only the late delivery's three broken rows were refused
    assert sorted(quarantined) == [("payments", "fk:invoice_id"), ("payments", "paid_after_invoice_issued"),
                                   ("payments", "type:amount_minor")]
    # the history runs right up to now (2023-11-01 to now), and the keys and the monitoring run were written at it
    assert latest[("orders", "created_at")] > NOW - timedelta(hours=1)
    assert latest[("firms", "registered_at")] > NOW - timedelta(days=60)
    assert latest[("api_keys", "created_at")] == latest[("monitoring_runs", "created_at")] == NOW
    # the commands the demo suggests work as printed, from where it was run
    quarantine = re.search(r"^  (\S+ quarantine --database-url \S+)$", out, re.M).group(1)
    listed = subprocess.run(shlex.split(quarantine), capture_output=True, text=True)
    assert listed.returncode == 0 and "rule" in listed.stdout and "fk:invoice_id" in listed.stdout, listed.stderr
    assert re.search(rf"^  CREDIT_DATABASE_URL=sqlite:///{re.escape(str(workdir))}/credit.db "
                     rf"CREDIT_SERVING_FOLDER={re.escape(str(workdir))}/serving \S*credit retrain --as-of YYYY-MM-DD$",
                     out, re.M), out
    create = re.search(r"^  (\S+ api-key create NAME ROLE --database-url \S+)$", out, re.M).group(1)
    created = subprocess.run(shlex.split(create.replace("NAME ROLE", "alice finance")), capture_output=True, text=True)
    assert created.returncode == 0 and re.search(r"mck_[A-Za-z0-9_-]{43}", created.stdout), created.stderr

    panel_dates = pd.read_parquet(workdir / "features" / "panel.parquet", columns=["as_of"]).as_of
    assert panel_dates.max() == pd.Timestamp("2026-10-01")

    _finance_finds_every_product_on_the_financing_page(workdir, keys["finance"], tmp_path)


def _finance_finds_every_product_on_the_financing_page(workdir: Path, finance_key: str, tmp_path: Path) -> None:
    """The demo's store served, a finance key signs in with Debian's chromium and finds each product's rows."""
    from playwright.sync_api import expect, sync_playwright

    from api.app import create_app
    from credit.settings import Settings
    from tests.api.conftest import LiveServer

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser`")
    app = create_app(Settings(database_url=f"sqlite:///{workdir / 'credit.db'}", serving_folder=str(workdir / "serving"),
                              tracking_uri=f"sqlite:///{tmp_path / 'console-mlflow.db'}"))
    with LiveServer(app) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        page.goto(f"{server.url}/console/financing")
        page.get_by_label("API key").fill(finance_key)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{server.url}/console/financing")
        for kind in ("order", "receivable", "loan"):
            rows = page.locator(f"#book-{kind} tr[data-kind='{kind}']")
            expect(rows.first).to_be_visible()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "9-demo-financing.png"), full_page=True)
        browser.close()


def _latest_times(engine) -> dict[tuple[str, str], datetime]:  # noqa: ANN001
    """The latest value of every date and time column of every table of the store, scheduled ones aside."""
    latest = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, Date | DateTime) and (table.name, column.name) not in SCHEDULED:
                    value = connection.execute(select(func.max(column))).scalar()
                    if value is not None:
                        latest[(table.name, column.name)] = (
                            value if isinstance(value, datetime) else datetime.combine(value, datetime.min.time()))
    return latest
