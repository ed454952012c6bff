"""``credit demo`` end to end on a smaller marketplace: it ends with a book to review and keys to sign in with."""

from __future__ import annotations

import re
from pathlib import Path

import mlflow
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.kit.auth import hash_key
from api.kit.tables import ApiKey
from credit.cli import app
from credit.monitoring.results import latest_run
from credit.origination.tables import CreditLineApplicationRecord as Application
from credit.store.engine import make_engine

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
    pytest.mark.filterwarnings("ignore:Operation with range is deprecated:DeprecationWarning:mlflow"),
]


def test_the_demo_ends_with_referred_applications_a_monitoring_run_and_working_keys(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDIT_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("CREDIT_ARTIFACT_LOCATION", (tmp_path / "mlruns").as_uri())
    workdir = tmp_path / "demo"
    try:
        result = CliRunner().invoke(app, [
            "demo", "--workdir", str(workdir), "--firms", "1200", "--years", "3", "--start", "2023-01-01",
            "--applicants", "60", "--port", "8123", "--no-serve"])
    finally:
        mlflow.set_tracking_uri(None)
    out = result.output
    assert result.exit_code == 0, out
    for step in ("1. simulate", "5. models", "6. the credit book", "7. monitoring", "8. the service"):
        assert step in out
    assert "Finance console: http://127.0.0.1:8123/console" in out
    keys = dict(re.findall(r"(finance|checkout|analyst) key:\s+(mck_[A-Za-z0-9_-]{43})", out))
    assert set(keys) == {"finance", "checkout", "analyst"}

    engine = make_engine(f"sqlite:///{workdir / 'credit.db'}")
    with Session(engine) as session:
        roles = {role: session.execute(select(ApiKey.role).where(ApiKey.key_hash == hash_key(key))).scalar()
                 for role, key in keys.items()}
        referred = session.execute(select(Application.decision_id).where(Application.status == "referred")).all()
        run = latest_run(session)
    engine.dispose()
    assert roles == {"finance": "finance", "checkout": "checkout", "analyst": "analyst"}
    assert len(referred) >= 1  # the review queue has work in it
    referred_printed = int(re.search(r"(\d+) referred", out).group(1))
    assert referred_printed == len(referred)
    assert run is not None and run.as_of.isoformat() == "2025-12-01"
