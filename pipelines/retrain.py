"""Batch job: the monthly retrain. Rebuild the panel, train a challenger, promote it only if it is better.

    credit retrain [--history DIR] [--workdir DIR] [--config FILE]

The panel runs from the first month with :data:`FIRST_MONTHS` of history behind it to the
latest month start the history reaches; the challenger is trained on it with the configured
windows, registered, and judged against the champion on the same latest test window by the
promotion gate (:mod:`credit.models.promotion`); the decision and its reasons are logged in the
challenger's MLflow run. Given the store, it ends by monitoring the champion on the new panel
(:func:`credit.monitoring.run.monitor_champion`) and storing the run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from credit import clock
from credit.features.asof import monthly
from credit.features.history import History
from credit.features.panel import build_panel, read_panel, write_panel
from credit.models.config import ModelConfig
from credit.monitoring.results import MonitoringRun
from pipelines.train_pd import Judgement, TrainingOutcome, apply_judgement, judge_challenger, train_pd

FIRST_MONTHS = 6
"""Months of history before the first as-of date, so that its features are not all empty."""


@dataclass(frozen=True)
class RetrainOutcome:
    panel_folder: Path
    as_of: list[date]
    training: TrainingOutcome
    judgement: Judgement
    monitoring: MonitoringRun | None = None
    monitoring_note: str | None = None
    """Why there is no monitoring run (no store given, no champion, or the panel does not fit it)."""


def retrain(history: History, config: ModelConfig, workdir: Path, *, truth: Path | None = None,
            engine: Engine | None = None) -> RetrainOutcome:
    """Rebuild the panel from ``history``, train and register a challenger, run the gate and apply it.

    With ``engine`` (the operational store), the champion the gate leaves in place is then
    monitored on the new panel and the run stored there; a failure to monitor is reported in
    ``monitoring_note``, not raised, since the retrain itself is done by then.

    Raises
    ------
    ValueError
        If the configured label is not ``default_<N>m``, the history is too short for the
        windows, or training fails (the message says why).
    """
    horizon = re.fullmatch(r"default_(\d+)m", config.training.label)
    if not horizon:
        raise ValueError(f"[training] label must be default_<N>m to rebuild the panel; got {config.training.label!r}")
    first_event, history_end = history.span()
    first = _month_start_after(first_event.date(), FIRST_MONTHS)
    last = history_end.date().replace(day=1)
    if last <= first:
        raise ValueError(f"the history ({first_event.date()} to {history_end.date()}) is too short: the panel starts "
                         f"{FIRST_MONTHS} months after the first event")
    dates = monthly(first, last)
    panel_folder = workdir / "panel"
    write_panel(build_panel(history, dates, horizon_months=int(horizon.group(1))), panel_folder)
    panel = read_panel(panel_folder, config.training.label).observed()
    workdir.mkdir(parents=True, exist_ok=True)
    training = train_pd(panel, config, truth=truth,
                        report_path=workdir / f"retrain-{clock.now():%Y%m%d-%H%M%S}.html")
    judgement = judge_challenger(panel, config, training.registered.version)
    apply_judgement(judgement)
    return RetrainOutcome(panel_folder, dates, training, judgement, *_monitored(engine, panel_folder, history))


def _monitored(engine: Engine | None, panel_folder: Path, history: History) -> tuple[MonitoringRun | None, str | None]:
    if engine is None:
        return None, "no store given: the champion was not monitored"
    from credit.models.registry import ModelNotFoundError
    from credit.monitoring.run import MonitoringError, monitor_champion

    try:
        return monitor_champion(engine, panel_folder, history=history), None
    except (ModelNotFoundError, MonitoringError) as exc:
        return None, f"the champion was not monitored: {exc}"


def _month_start_after(day: date, months: int) -> date:
    month = day.month - 1 + months + (day.day > 1)
    return date(day.year + month // 12, month % 12 + 1, 1)
