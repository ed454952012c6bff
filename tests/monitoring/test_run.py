"""One monitoring run on the small marketplace, stored on SQLite and PostgreSQL and read back.

What the run stores is checked against what the panel and the model say when asked directly:
the PSI of the score against :func:`credit.monitoring.psi.psi` on the two samples, the grade
counts against the panel's matured labels, the utilisation warning against a line opened here.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from credit import clock
from credit.ledger import open_line
from credit.ledger.checkout import authorize
from credit.models import REGISTERED_MODEL
from credit.monitoring.results import WARNING_REASONS, latest_run, run_by_id, warnings_of_firm
from credit.monitoring.run import MonitoredModel, MonitoringError, monitor, training_window_of_run
from credit.monitoring.psi import psi
from credit.monitoring.tables import MonitoringRunRecord, PsiRecord
from credit.models.registry import tracking
from credit.policy import default_policy
from credit.settings import Settings
from tests.monitoring.conftest import LATEST, TRAINING


def _panel(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "panel.parquet")


def test_a_run_is_stored_and_read_back_as_the_latest(scored_store, small_panel, small_model, small_book_config):  # noqa: ANN001
    run = monitor(scored_store.engine, small_panel, small_model, config=small_book_config)
    with Session(scored_store.engine) as session:
        assert latest_run(session) == run == run_by_id(session, run.run_id)
    assert (run.as_of, run.model_name, run.model_version) == (LATEST, REGISTERED_MODEL, "1")
    assert (run.training_from, run.training_to) == TRAINING
    panel = _panel(small_panel)
    day = panel["as_of"].dt.date
    assert run.firms == int((day == LATEST).sum()) > 150

    # PSI: the score and every feature, for the book and each industry with 10+ rows on both sides
    industries = sorted(panel.loc[day == LATEST, "industry"].astype(str).unique())
    assert run.settings["segments_not_assessed"] == []  # every industry has 10+ firms
    assert {row.segment for row in run.psi} == {"all", *(f"industry={name}" for name in industries)}
    assert len(run.psi) == (1 + len(small_model.features)) * (1 + len(industries))
    expected, actual = panel[(day >= TRAINING[0]) & (day <= TRAINING[1])], panel[day == LATEST]
    score = {row.segment: row for row in run.psi if row.variable == "score"}
    assert score["all"].psi == pytest.approx(psi(pd.Series(small_model.predict_pd(expected)),
                                                 pd.Series(small_model.predict_pd(actual))), abs=1e-6)
    assert (score["all"].expected_rows, score["all"].actual_rows) == (len(expected), len(actual))
    tenure = next(r for r in run.psi if r.variable == "tenure_days" and r.segment == "all")
    assert tenure.psi == pytest.approx(psi(expected["tenure_days"], actual["tenure_days"]), abs=1e-6)

    # calibration: by grade on the latest vintage whose 12 months lie within both the month
    # monitored and the history (2023-12-01 + 12 months = 2024-12-01), by vintage on all of them
    assert run.calibration_vintage == date(2023, 12, 1)
    cohort = panel[day == date(2023, 12, 1)]
    assert sum(g.firms for g in run.grades) == len(cohort)
    assert sum(g.defaults for g in run.grades) == int(cohort["default_12m"].sum())
    grades = default_policy().grades_of(small_model.predict_pd(cohort))
    assert {g.grade: g.firms for g in run.grades} == pd.Series(grades).value_counts().to_dict()
    assert [v.vintage for v in run.vintages] == [date(2023, m, 1) for m in range(3, 13)]
    assert [v.in_training for v in run.vintages] == [True] * 8 + [False] * 2
    assert all(v.ci_low <= v.realised_rate <= v.ci_high for v in run.vintages)

    # the early-warning list holds scored firms only, with catalogue codes and a detail per code
    scored = set(actual["firm_id"])
    assert run.warnings and all(w.firm_id in scored for w in run.warnings)
    assert all(w.reasons and set(w.details) == set(w.reasons) <= set(WARNING_REASONS) for w in run.warnings)
    with Session(scored_store.engine) as session:
        first = run.warnings[0]
        assert warnings_of_firm(session, first.firm_id) == (first,)
        assert warnings_of_firm(session, 10**12) == ()


def test_a_buyer_near_its_limit_is_on_the_list(scored_store, small_panel, small_model):  # noqa: ANN001
    firm = int(_panel(small_panel).query("as_of == @LATEST")["firm_id"].iloc[0])
    with Session(scored_store.engine) as session, session.begin():
        line = open_line(session, firm_id=firm, limit_minor=1_000_000, currency="EUR", now=datetime(2024, 12, 1))
        authorize(session, line, 950_000, order_reference="monitoring-test", now=datetime(2024, 12, 1))
    run = monitor(scored_store.engine, small_panel, small_model)
    warning = next(w for w in run.warnings if w.firm_id == firm)
    assert "utilisation_high" in warning.reasons
    assert warning.details["utilisation_high"] == {"limit_minor": 1_000_000, "posted_minor": 0,
                                                   "pending_minor": 950_000, "utilisation": 0.95}


def test_an_earlier_month_sees_only_the_outcomes_matured_by_then(scored_store, small_panel, small_model):  # noqa: ANN001
    run = monitor(scored_store.engine, small_panel, small_model, as_of=date(2024, 6, 1))
    assert run.as_of == date(2024, 6, 1) and run.calibration_vintage == date(2023, 6, 1)
    assert run.vintages[-1].vintage == date(2023, 6, 1)
    # 200 firms: every industry has fewer than the default 200 rows, so only the book is assessed
    assert {row.segment for row in run.psi} == {"all"} and len(run.settings["segments_not_assessed"]) >= 6


def test_each_run_is_one_row_with_its_children(scored_store, small_panel, small_model):  # noqa: ANN001
    with scored_store.engine.connect() as connection:
        runs_before = connection.execute(select(func.count()).select_from(MonitoringRunRecord)).scalar()
    run = monitor(scored_store.engine, small_panel, small_model)
    with scored_store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(MonitoringRunRecord)).scalar() == runs_before + 1
        stored = connection.execute(select(func.count()).select_from(PsiRecord)
                                    .where(PsiRecord.run_id == run.run_id)).scalar()
    assert stored == len(run.psi) == 1 + len(small_model.features)


def test_what_monitoring_cannot_use_is_one_clear_error(scored_store, small_panel, small_model, tmp_path):  # noqa: ANN001
    with pytest.raises(MonitoringError, match=r"2025-03-01 is not an as-of date of the panel .* \(2023-03-01 to "
                                              r"2024-12-01, monthly\)"):
        monitor(scored_store.engine, small_panel, small_model, as_of=date(2025, 3, 1))
    with pytest.raises(MonitoringError, match=r"the month monitored \(2023-09-01\) must come after the training "
                                              rf"window of {REGISTERED_MODEL} version 1 \(2023-03-01 to 2023-10-01\)"):
        monitor(scored_store.engine, small_panel, small_model, as_of=date(2023, 9, 1))
    earlier = MonitoredModel(**{**vars(small_model), "training_from": date(2021, 1, 1),
                                "training_to": date(2021, 6, 1)})
    with pytest.raises(MonitoringError, match=rf"holds no row of the training window of {REGISTERED_MODEL} version 1 "
                                              r"\(2021-01-01 to 2021-06-01\)"):
        monitor(scored_store.engine, small_panel, earlier)
    other = MonitoredModel(**{**vars(small_model), "features": (*small_model.features, "moon_phase")})
    with pytest.raises(MonitoringError, match=rf"lacks 1 feature\(s\) of {REGISTERED_MODEL} version 1, e.g. \['moon_phase'\]"):
        monitor(scored_store.engine, small_panel, other)
    with pytest.raises(MonitoringError, match="holds no feature panel: panel.parquet is missing"):
        monitor(scored_store.engine, tmp_path, small_model)


def test_a_month_after_today_is_never_monitored(scored_store, small_panel, small_model):  # noqa: ANN001
    # The panel runs to 2024-12-01: on 2024-10-15 its latest two months have not begun.
    with clock.frozen(datetime(2024, 10, 15, 9, 30)):
        with pytest.raises(MonitoringError, match=r"the month monitored \(2024-11-01\) is after today \(2024-10-15\)"):
            monitor(scored_store.engine, small_panel, small_model, as_of=date(2024, 11, 1))
        run = monitor(scored_store.engine, small_panel, small_model)
    assert run.as_of == date(2024, 10, 1)
    assert run.created_at == datetime(2024, 10, 15, 9, 30)
    with clock.frozen(datetime(2023, 2, 1)), pytest.raises(MonitoringError, match=r"every as-of date of the panel .* "
                                                                                   r"is after today \(2023-02-01\)"):
        monitor(scored_store.engine, small_panel, small_model)


def test_a_model_is_read_from_its_serving_files(serving_folders, tmp_path):  # noqa: ANN001
    with pytest.raises(MonitoringError, match="training window must run forwards; got 2024-01-01 to 2023-01-01"):
        MonitoredModel.from_serving(serving_folders["1"], (date(2024, 1, 1), date(2023, 1, 1)))
    with pytest.raises(MonitoringError, match=r"no readable serving files in .* \(FileNotFoundError"):
        MonitoredModel.from_serving(tmp_path, TRAINING)
    model = MonitoredModel.from_serving(serving_folders["2"], TRAINING)
    assert (model.name, model.version) == (REGISTERED_MODEL, "2") and "region" in model.features


@pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")
def test_the_training_window_comes_from_the_training_run(tmp_path: Path):
    experiment = tracking(Settings(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
                                   artifact_location=(tmp_path / "a").as_uri()))
    try:  # the experiment named: an earlier test may leave another store's experiment active in MLflow
        with mlflow.start_run(experiment_id=experiment) as trained:
            mlflow.log_params({"window.train": "2023-04-01 to 2024-04-01 (13 as-of dates, 40,000 rows, 900 defaults)",
                               "window.valid": "2024-05-01 to 2024-07-01 (3 as-of dates, 9,000 rows, 200 defaults)"})
        with mlflow.start_run(experiment_id=experiment) as bare:
            mlflow.log_param("window.train", "2023-04-01 to 2024-04-01 (13 as-of dates)")
        assert training_window_of_run(trained.info.run_id) == (date(2023, 4, 1), date(2024, 7, 1))
        with pytest.raises(MonitoringError, match=r"does not record window.valid"):
            training_window_of_run(bare.info.run_id)
        with pytest.raises(MonitoringError, match="is not in the MLflow store"):
            training_window_of_run("0" * 32)
    finally:
        mlflow.set_tracking_uri(None)
