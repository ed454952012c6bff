"""MLflow's own log lines stay out of what ``credit`` prints; its warnings still show, as ours.

Issue 18: ``credit train`` printed "INFO mlflow.store.db.utils: Creating initial MLflow
database tables...", a CloudPickle warning and "Successfully registered model ..." between
its own lines. The training runs in a fresh process, as a user's shell runs it, so whatever
MLflow writes to the real stdout and stderr is caught.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import applicants_table

ROOT = Path(__file__).resolve().parents[2]
MLFLOW_LOG_LINE = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR) ", re.MULTILINE)


def test_train_on_a_table_prints_its_own_lines_and_none_of_mlflows(tmp_path: Path) -> None:
    applicants_table(rows=300).to_csv(tmp_path / "applicants.csv", index=False)
    (tmp_path / "small.toml").write_text("[lightgbm]\nnum_threads = 1\nmin_child_samples = 10\n"
                                         "[training]\nnum_boost_round = 30\nscorecard = false\n")
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200",
                   "CREDIT_ARTIFACT_LOCATION": (tmp_path / "mlruns").as_uri()}
    # a new SQLite store: MLflow creates its tables, which it used to announce
    done = subprocess.run([sys.executable, "-m", "cli", "train", "--table", "applicants.csv", "--target", "bad",
                           "--id-col", "applicant", "--config", "small.toml",
                           "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"],
                          cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600)
    printed = done.stdout + done.stderr
    assert done.returncode == 0, printed
    assert re.search(r"Registered applicants_pd version 1 \((logistic|lightgbm|blend)\) as challenger",
                     done.stdout), printed
    assert not MLFLOW_LOG_LINE.search(printed), printed
    for phrase in ("INFO", "mlflow.", "CloudPickle", "Successfully registered model", "Created version"):
        assert phrase not in printed, printed
    assert done.stderr == ""


def test_a_warning_mlflow_logs_is_still_shown_after_the_cli_quieted_it(capsys) -> None:  # noqa: ANN001
    from cli.common import _quiet_mlflow

    _quiet_mlflow()
    logging.getLogger("mlflow.store.db.utils").info("Creating initial MLflow database tables...")
    logging.getLogger("mlflow.tracking").warning("the artifact store at s3://x cannot be reached")
    logging.getLogger("mlflow.pyfunc").warning("Passing a Python object as `python_model` causes it to be "
                                               "serialized using CloudPickle, it requires exercising caution")
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err == "warning (MLflow): the artifact store at s3://x cannot be reached\n"
