"""Monitoring on a simulated shock: an industry downturn shows, a calm book raises no alarm.

The study
---------
Two marketplaces are simulated with the same seed (3,000 firms, 2022-2025): one with a
downturn of construction from 2025-09-01 (the industry factor 2.0 lower for six months, so
still at full depth when the history ends), one without (the counterfactual: the economy has
its own random stream, so both share every month before the shock; tests/simulate/
test_shock.py). Each gets the feature panel 2023-04 to 2026-01 (from 15 months into the
history, so every 365-day window and year-on-year growth is complete from its first month).
One PD model is trained on the calm panel by the real job (:func:`pipelines.train_pd.train_pd`,
tracked in MLflow), made champion and exported; monitoring reads its training window
(2023-04-01 to 2024-07-01) from its MLflow run, and monitors the month 2026-01-01 of each
panel, storing the runs in SQLite stores.

Affected features, fixed from the simulator's mechanism before looking at any PSI
(credit/simulate/settlement.py and market.py): a lower credit index makes buyers pay late
more often and later (``debtor_late_payment_rate_90d``, ``debtor_days_late_mean_90d``,
``debtor_on_time_rate_90d``), buy less (``buyer_order_count_90d``) and suppliers deliver
slower (``supplier_lead_time_mean_90d``, ``supplier_hours_to_ship_mean_90d``). Windows of
90 days: the shock is four months old at the month monitored.

Over-representation on the early-warning list is the relative listing rate: the share of the
shocked industry's firms (scored at the month monitored) that are listed, divided by the
same share among the firms of every other industry. 1 means "listed as often as the rest".

"No alarms" is the definition of :mod:`credit.monitoring.run` (``MonitoringRun.alarms``): the
score's PSI below 0.25 in the whole book and in every industry assessed, and no grade whose
mean PD lies outside the 99.9% Clopper-Pearson interval of its realised default rate. It
does not say that no *feature* moves: in the calm book too, ``tenure_days`` and the
whole-history counts grow with the book's age and quarter-on-quarter growth follows the
season, so a handful of feature PSIs are at watch or alarm in both runs (printed by
:func:`test_calm_book_raises_no_alarm`); natural industry cycles of the simulator move some
features of some industries as well. What the calm run must not show is the shock's own
signature: the affected features of construction stay below 0.1 there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from credit.features.asof import monthly
from credit.features.history import History
from credit.features.panel import build_panel, read_panel, write_panel
from credit.models import CHAMPION, REGISTERED_MODEL
from credit.models.config import load_model_config
from credit.models.registry import export_serving_files, set_alias, tracking
from credit.monitoring.results import WARNING_REASONS, MonitoringRun
from credit.monitoring.run import MonitoredModel, monitor
from credit.settings import Settings
from credit.simulate import IndustryShock, SimulationConfig, simulate
from credit.store.engine import make_engine
from migrations import upgrade
from pipelines.train_pd import train_pd

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
    pytest.mark.filterwarnings("ignore:Operation with range is deprecated:DeprecationWarning:mlflow"),
]

SHOCKED = "construction"
SEGMENT = f"industry={SHOCKED}"
SHOCK = IndustryShock(industry=SHOCKED, start=date(2025, 9, 1), months=6, depth=2.0)
MONTH = date(2026, 1, 1)
AFFECTED = ("debtor_late_payment_rate_90d", "debtor_days_late_mean_90d", "debtor_on_time_rate_90d",
            "buyer_order_count_90d", "supplier_lead_time_mean_90d", "supplier_hours_to_ship_mean_90d")
MODEL = """
[lightgbm]
learning_rate = 0.1
num_threads = 2
deterministic = true
[training]
num_boost_round = 300
early_stopping_rounds = 30
scorecard = false
"""


@dataclass(frozen=True)
class Monitored:
    run: MonitoringRun
    firms: pd.DataFrame  # firm_id, industry of the firms scored at MONTH

    def psi(self, variable: str, segment: str) -> float:
        return next(row.psi for row in self.run.psi if row.variable == variable and row.segment == segment)

    def listed_share(self, shocked: bool) -> float:
        listed = self.firms["firm_id"].isin({w.firm_id for w in self.run.warnings})
        group = (self.firms["industry"] == SHOCKED) == shocked
        return float(listed[group].mean())

    def relative_listing_rate(self) -> float:
        return self.listed_share(True) / self.listed_share(False)


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Monitored]:
    root = tmp_path_factory.mktemp("shock_study")
    started = time.perf_counter()
    panels = {}
    for name, shocks in (("calm", ()), ("shocked", (SHOCK,))):
        simulate(SimulationConfig(firms=3000, years=4, seed=11, start=date(2022, 1, 1), shocks=shocks),
                 root / name / "history")
        write_panel(build_panel(History.from_parquet(root / name / "history"), monthly(date(2023, 4, 1), MONTH)),
                    root / name / "panel")
        panels[name] = root / name / "panel"
    (root / "model.toml").write_text(MODEL)
    tracking(Settings(tracking_uri=f"sqlite:///{root / 'mlflow.db'}", artifact_location=(root / "mlruns").as_uri()))
    try:
        config = load_model_config(root / "model.toml")
        calm = read_panel(panels["calm"], config.training.label).observed()
        trained = train_pd(calm, config, report_path=root / "report.html")
        set_alias(REGISTERED_MODEL, CHAMPION, trained.registered.version)
        model = MonitoredModel.from_serving(export_serving_files(REGISTERED_MODEL, CHAMPION, root / "serving"))
    finally:
        mlflow.set_tracking_uri(None)
    monitored = {}
    for name, panel in panels.items():
        engine = make_engine(f"sqlite:///{root / name / 'store.db'}")
        upgrade(engine)
        run = monitor(engine, panel, model, history=History.from_parquet(root / name / "history"))
        frame = pd.read_parquet(panel / "panel.parquet", columns=["firm_id", "as_of", "industry"])
        scored = frame[frame["as_of"].dt.date == MONTH][["firm_id", "industry"]].astype({"industry": str})
        monitored[name] = Monitored(run, scored.reset_index(drop=True))
        engine.dispose()
    print(f"\nshock study built in {time.perf_counter() - started:.1f} s")
    for name, result in monitored.items():
        run = result.run
        print(f"{name}: training window {run.training_from} to {run.training_to}, month {run.as_of}, "
              f"{run.firms} firms; score PSI " + ", ".join(
                  f"{r.segment} {r.psi:.3f}" for r in run.psi if r.variable == "score"))
        print(f"  {SEGMENT}: " + ", ".join(f"{f} {result.psi(f, SEGMENT):.3f}" for f in AFFECTED))
        print(f"  early warnings {len(run.warnings)}: {SHOCKED} {result.listed_share(True):.3f}, others "
              f"{result.listed_share(False):.3f}, relative {result.relative_listing_rate():.2f}; grades "
              + ", ".join(f"{g.grade} {g.status}" for g in run.grades))
        shocked_firms = set(result.firms.loc[result.firms["industry"] == SHOCKED, "firm_id"])
        print("  listed per reason (shocked industry / others): " + ", ".join(
            f"{code} {sum(code in w.reasons for w in run.warnings if w.firm_id in shocked_firms)}/"
            f"{sum(code in w.reasons for w in run.warnings if w.firm_id not in shocked_firms)}"
            for code in WARNING_REASONS))
        print("  features at watch or alarm in the whole book: " + ", ".join(
            f"{r.variable} {r.psi:.3f}" for r in run.drifting_features if r.segment == "all"))
    return monitored


def test_the_model_was_monitored_against_the_window_its_mlflow_run_recorded(study):  # noqa: ANN001
    for result in study.values():
        # the default windows on labelled months 2023-04 to 2025-01: test 2024-11..2025-01,
        # calibrate 2024-08..10, valid 2024-05..07, train 2023-04..2024-04; fitted on train + valid
        assert (result.run.training_from, result.run.training_to) == (date(2023, 4, 1), date(2024, 7, 1))
        assert result.run.as_of == MONTH and SEGMENT in {row.segment for row in result.run.psi}


def test_the_downturn_moves_the_score_and_every_affected_feature_of_the_industry(study):  # noqa: ANN001
    shocked = study["shocked"]
    assert shocked.psi("score", SEGMENT) > 0.1
    assert {feature: shocked.psi(feature, SEGMENT) > 0.1 for feature in AFFECTED} == dict.fromkeys(AFFECTED, True)
    # the alarm names the shocked industry, and only it
    assert {row.segment for row in shocked.run.alarms} == {SEGMENT}


def test_the_downturn_puts_the_industry_on_the_early_warning_list(study):  # noqa: ANN001
    # listed at least twice as often as the firms of the other industries (1 = as often)
    assert study["shocked"].relative_listing_rate() >= 2.0


def test_calm_book_raises_no_alarm(study):  # noqa: ANN001
    calm = study["calm"]
    assert calm.run.alarms == ()
    assert max(row.psi for row in calm.run.psi if row.variable == "score") < 0.1
    assert not [g for g in calm.run.grades if g.status == "alarm"]
    # the downturn's signature is absent: the affected features of the industry stay stable
    assert {feature: calm.psi(feature, SEGMENT) < 0.1 for feature in AFFECTED} == dict.fromkeys(AFFECTED, True)


def test_calm_book_early_warnings_stay_at_their_baseline(study):  # noqa: ANN001
    calm, shocked = study["calm"], study["shocked"]
    # firms deteriorate one by one in any economy: the calm list is not empty, but the industry
    # is listed about as often as the rest (within a factor 1.5 either way) ...
    assert calm.run.warnings
    assert 1 / 1.5 <= calm.relative_listing_rate() <= 1.5
    # ... and the calm book is listed at the rate of the shocked run's unshocked industries (within 25%)
    calm_rate = len(calm.run.warnings) / calm.run.firms
    assert abs(calm_rate / shocked.listed_share(False) - 1) <= 0.25
