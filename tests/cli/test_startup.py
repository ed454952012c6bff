"""A wrong argument is answered before the heavy libraries are imported (issue 18: 4-5 s and 450 MB for a typo).

Each case runs ``credit`` in a fresh Python process, as a user's shell would, and lists the
heavy libraries in ``sys.modules`` when the command has exited: none of them may be there.
Times are not asserted (benchmarks/cli_startup.py prints them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ["alembic", "duckdb", "fastapi", "great_expectations", "lightgbm", "mlflow", "numpy", "optbinning", "optuna",
         "pandas", "pyarrow", "scipy", "shap", "sklearn", "sqlalchemy"]

# Runs the Typer app on the arguments and, when it exits, prints the exit code and the heavy libraries loaded.
PROBE = """
import json, sys
from cli import app
try:
    app(sys.argv[1:], prog_name="credit")
except SystemExit as exit:
    loaded = sorted(name for name in {module.split(".")[0] for module in sys.modules} if name in HEAVY)
    print(json.dumps({"code": exit.code, "loaded": loaded}))
"""


def _credit_in_a_new_process(arguments: list[str], folder: Path) -> dict:
    code = f"HEAVY = {HEAVY!r}\n{PROBE}"
    done = subprocess.run([sys.executable, "-c", code, *arguments], cwd=folder, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}, timeout=120)
    return json.loads(done.stdout.strip().splitlines()[-1]) | {"stderr": done.stderr}


@pytest.mark.parametrize(("arguments", "message"), [
    (["train", "--table", "missing.csv", "--target", "y"], "--table missing.csv: no such file"),
    (["train", "--table", "applicants.csv"], "--table needs --target COLUMN"),
    (["train", "--no-such-option"], "No such option: --no-such-option"),
    (["train", "--panel", "p", "--table", "t.csv"], "give either --panel FOLDER"),
    (["retrain", "--as-of", "2024-13-01"], "--as-of must be a date like 2023-01-01; got '2024-13-01'"),
    (["score", "--as-of", "yesterday"], "--as-of must be a date like 2023-01-01; got 'yesterday'"),
    (["score", "--as-of", "2024-01-01", "--serving", "no-serving"], "no serving files at no-serving"),
    (["monitor", "--serving", "no-serving"], "no serving files at no-serving"),
    (["features", "build"], "give at least one --as-of date or a --monthly FROM TO range"),
], ids=lambda value: " ".join(value) if isinstance(value, list) else None)
def test_a_wrong_argument_is_refused_before_any_heavy_library_is_imported(arguments: list[str], message: str,
                                                                          tmp_path: Path) -> None:
    (tmp_path / "applicants.csv").write_text("risk,bad\n1,0\n2,1\n")
    outcome = _credit_in_a_new_process(arguments, tmp_path)
    assert outcome["code"] == 2, outcome["stderr"]
    assert message in " ".join(outcome["stderr"].split()).replace("│", "").replace("  ", " ")
    assert outcome["loaded"] == []
    assert not (tmp_path / "var").exists()  # nor did it start an MLflow store or a report folder


@pytest.mark.parametrize("arguments", [["--help"], ["train", "--help"]], ids=" ".join)
def test_help_imports_no_heavy_library(arguments: list[str], tmp_path: Path) -> None:
    outcome = _credit_in_a_new_process(arguments, tmp_path)
    assert outcome["code"] == 0
    assert outcome["loaded"] == []
