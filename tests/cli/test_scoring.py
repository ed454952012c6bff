"""``credit score`` refuses a bad date; ``credit models export-champion`` writes the version asked for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from credit.models import REGISTERED_MODEL
from tests.cli.conftest import Registry
from tests.cli.invoke import assert_refused, credit

pytestmark = pytest.mark.filterwarnings("ignore:Operation with range is deprecated:DeprecationWarning:mlflow")


def test_score_refuses_an_as_of_that_is_not_a_date(tmp_path: Path) -> None:
    outcome = credit("score", "--as-of", "2024/06/01", "--serving", tmp_path,
                     "--database-url", f"sqlite:///{tmp_path / 's.db'}")
    assert_refused(outcome, "--as-of must be a date like 2023-01-01; got '2024/06/01'")


def _exported(registry: Registry, out: Path, *arguments: str) -> dict:
    outcome = credit("models", "export-champion", "--out", out, *arguments, *registry.tracking)
    assert outcome.exit_code == 0, outcome.output
    assert {p.name for p in out.iterdir()} >= {"model.lgb", "calibrator.json", "features.json", "version.json"}
    return json.loads((out / "version.json").read_text())


def test_export_champion_writes_the_champion_to_out(registry: Registry, tmp_path: Path) -> None:
    assert registry.promotion.exit_code == 0, registry.promotion.output  # v1 is the champion, v2 the challenger
    version = _exported(registry, tmp_path / "serving")
    assert (version["name"], version["version"], version["alias"]) == (REGISTERED_MODEL, "1", "champion")


def test_export_champion_alias_exports_the_version_under_that_alias(registry: Registry, tmp_path: Path) -> None:
    version = _exported(registry, tmp_path / "serving", "--alias", "challenger")
    assert (version["name"], version["version"], version["alias"]) == (REGISTERED_MODEL, "2", "challenger")


def test_export_champion_refuses_a_table_champion_that_is_not_lightgbm(registry: Registry, tmp_path: Path) -> None:
    assert registry.table_training.exit_code == 0, registry.table_training.output
    # the applicants' log-odds are linear in one risk driver: the logistic regression is the true model and wins
    run = registry.client.get_run(registry.client.get_model_version("applicants_pd", "1").run_id)
    assert run.data.tags["champion"] == "logistic"
    outcome = credit("models", "export-champion", "--out", tmp_path / "serving", "--name", "applicants_pd",
                     "--alias", "challenger", *registry.tracking)
    assert_refused(outcome, "applicants_pd version 1 (challenger) is not a LightGBM PD model",
                   "only a LightGBM model can be exported for serving")
    assert not (tmp_path / "serving").exists()


@pytest.mark.parametrize(("arguments", "phrases"), [
    (["--alias", "nightly"], [f"registered model '{REGISTERED_MODEL}' has no alias 'nightly'"]),
    (["--name", "nothing_pd"], ["no registered model 'nothing_pd'"]),
])
def test_export_champion_refuses_a_model_or_alias_that_is_not_registered(arguments: list[str], phrases: list[str],
                                                                         registry: Registry, tmp_path: Path) -> None:
    outcome = credit("models", "export-champion", "--out", tmp_path / "serving", *arguments, *registry.tracking)
    assert_refused(outcome, *phrases)
    assert not (tmp_path / "serving").exists()
