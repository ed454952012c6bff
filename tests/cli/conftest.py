"""What the CLI tests share, each made once for the package by the commands a user would run.

- a small simulated history (200 firms over 2024), written by ``credit simulate`` (Parquet and
  CSV) and loaded by ``credit ingest`` into a store with three rows in quarantine;
- an MLflow store filled by ``credit train``, ``promote`` and ``retrain`` on the pipelines'
  simulated marketplace (700 firms, 2023-2025), for the model and export commands.

Tests only read what the fixtures made.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from tests.cli.invoke import Outcome, credit
from tests.pipelines.conftest import marketplace  # noqa: F401  (700 firms 2023-2025, its panel, quick model settings)

FIRMS = 200
SEED = 3
START = "2024-01-01"
SIMULATION = ("--firms", FIRMS, "--years", 1, "--start", START, "--seed", SEED)

# Three payments a real feed gets wrong, one rule each: an invoice that does not exist, an amount
# with decimals, a payment dated before its invoice (invoice 1 is issued in January 2024).
LATE_PAYMENTS = """payment_id,invoice_id,paid_at,amount_minor
900001,999999999,2024-06-01T10:00:00,1000
900002,1,2024-06-01T10:00:00,12.50
900003,1,2023-06-01T10:00:00,1000
"""


@pytest.fixture(scope="package")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``credit simulate --out DIR --firms 200 --years 1 --start 2024-01-01 --seed 3``: Parquet tables and truth."""
    out = tmp_path_factory.mktemp("history") / "parquet"
    outcome = credit("simulate", "--out", out, *SIMULATION)
    assert outcome.exit_code == 0, outcome.output
    return out


@pytest.fixture(scope="package")
def csv_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same marketplace as :func:`history`, written with ``--format csv``."""
    out = tmp_path_factory.mktemp("history") / "csv"
    outcome = credit("simulate", "--out", out, *SIMULATION, "--format", "csv")
    assert outcome.exit_code == 0, outcome.output
    return out


@pytest.fixture(scope="package")
def ingested_store(csv_history: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite store holding the CSV history and, in quarantine, the three broken late payments; its URL."""
    root = tmp_path_factory.mktemp("store")
    url = f"sqlite:///{root / 'credit.db'}"
    loaded = credit("ingest", csv_history, "--database-url", url)
    assert loaded.exit_code == 0, loaded.output
    (root / "late").mkdir()
    (root / "late" / "payments.csv").write_text(LATE_PAYMENTS)
    late = credit("ingest", root / "late", "--database-url", url)
    assert late.exit_code == 0, late.output
    return url


# The model commands share one MLflow store, filled by the commands themselves.


@contextmanager
def mlflow_left_as_found() -> Iterator[None]:
    """Undo what ``--tracking-uri`` does to the process: MLflow's tracking and registry URIs and their variables."""
    registry_variable = os.environ.get("MLFLOW_REGISTRY_URI")
    try:
        yield
    finally:
        mlflow.set_tracking_uri(None)  # unsets MLFLOW_TRACKING_URI too
        mlflow.set_registry_uri(None)  # but leaves MLFLOW_REGISTRY_URI as it set it
        if registry_variable is None:
            os.environ.pop("MLFLOW_REGISTRY_URI", None)
        else:
            os.environ["MLFLOW_REGISTRY_URI"] = registry_variable


@dataclass(frozen=True)
class Registry:
    """An MLflow store after the commands that filled it; ``tracking`` is the option that points at it."""

    root: Path
    tracking: tuple[str, str]
    tuned_training: Outcome  # credit_pd v1: train --panel --tune
    retraining: Outcome  # retrain --truth with one-split stump settings: v2, the first champion and the challenger
    promotion: Outcome  # promote --version 1: v1 beats the stump and is the champion
    table_training: Outcome  # applicants_pd v1, the challenger: train --table --time-col

    @property
    def client(self) -> mlflow.MlflowClient:
        """A client of this store that leaves MLflow's process-wide URIs alone."""
        uri = self.tracking[1]
        return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


def applicants_table(rows: int = 600, seed: int = 4) -> pd.DataFrame:
    """A labelled table an analyst might bring: one risk driver, noise, a sector, an application date."""
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=rows)
    return pd.DataFrame({
        "applicant": np.arange(rows), "risk": risk, "noise": rng.normal(size=rows),
        "sector": rng.choice(["food", "steel"], rows),
        "applied_on": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.sort(rng.integers(0, 365, rows)), unit="D"),
        "bad": (rng.random(rows) < 1 / (1 + np.exp(-(-2.5 + 1.5 * risk)))).astype(int)})


@pytest.fixture(scope="package")
def registry(marketplace: dict[str, Path],  # noqa: F811
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    root = tmp_path_factory.mktemp("registry")
    tracking = ("--tracking-uri", f"sqlite:///{root / 'mlflow.db'}")
    tuned = root / "tuned.toml"
    tuned.write_text((marketplace["root"] / "quick.toml").read_text() + "[tuning]\ntrials = 1\ntimeout_seconds = 120\n")
    table = root / "applicants.csv"
    applicants_table().to_csv(table, index=False)
    small = root / "small.toml"
    small.write_text("[lightgbm]\nlearning_rate = 0.1\nnum_threads = 1\nmin_child_samples = 10\n"
                     "[training]\nnum_boost_round = 100\nscorecard = false\n")
    panel = ("--panel", marketplace["panel"])
    with pytest.MonkeyPatch.context() as environment, mlflow_left_as_found():
        environment.setenv("CREDIT_ARTIFACT_LOCATION", (root / "mlruns").as_uri())
        yield Registry(
            root, tracking,
            tuned_training=credit("train", *panel, "--config", tuned, "--tune", "--report", root / "v1.html",
                                  *tracking),
            retraining=credit("retrain", "--history", marketplace["history"], "--workdir", root / "retrain",
                              "--config", marketplace["root"] / "stump.toml", "--truth", marketplace["truth"],
                              "--database-url", f"sqlite:///{root / 'store.db'}", "--serving", root / "serving",
                              *tracking),
            promotion=credit("promote", *panel, "--config", marketplace["root"] / "quick.toml",
                             "--version", 1, *tracking),
            table_training=credit("train", "--table", table, "--target", "bad", "--id-col", "applicant",
                                  "--time-col", "applied_on", "--config", small, "--report",
                                  root / "table.html", *tracking),
        )
