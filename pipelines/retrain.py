"""Batch job: the month-end retrain. Rebuild the panel, train a challenger, promote it only if it is better, serve it.

    credit retrain [--as-of DATE] [--history DIR] [--workdir DIR] [--config FILE] [--serving DIR]

The retrain is for a month end, its as-of date ``D`` (default today): the history is read as
it stood at ``D`` 00:00, nothing later. The panel runs from the first month start whose every
feature window lies within the history (:func:`credit.features.panel.first_complete_as_of`:
the first event plus the longest window, 365 days) to the latest month start by then; the challenger is
trained on it with the configured windows, registered, and judged against the champion on the
same latest test window by the promotion gate (:mod:`credit.models.promotion`); the decision
and its reasons are logged in the challenger's MLflow run. When the gate promotes, the new
champion's serving files are exported to the serving folder (which a running service watches,
:mod:`api.kit.state`) and every firm of the store is scored as of ``D`` with it
(:func:`credit.scoring.batch.score_all`); when it does not, nothing served changes. Given the
store, it ends by monitoring the champion on the new panel
(:func:`credit.monitoring.run.monitor_champion`) and storing the run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine

from credit import clock
from credit.features.asof import monthly
from credit.features.history import History
from credit.features.panel import build_panel, first_complete_as_of, longest_window, read_panel, write_panel
from credit.models.config import ModelConfig
from credit.monitoring.results import MonitoringRun
from credit.scoring.batch import ScoringRun
from pipelines.train_pd import Judgement, TrainingOutcome, apply_judgement, judge_challenger, train_pd

@dataclass(frozen=True)
class RetrainOutcome:
    panel_folder: Path
    as_of: list[date]
    training: TrainingOutcome
    judgement: Judgement
    monitoring: MonitoringRun | None = None
    monitoring_note: str | None = None
    """Why there is no monitoring run (no store given, no champion, or the panel does not fit it)."""
    served: Path | None = None
    """Where the promoted champion's serving files were exported; None when nothing was exported."""
    scoring: ScoringRun | None = None
    """The promoted champion's scores of every firm as of the retrain's date."""
    scoring_note: str | None = None
    """Why the promoted champion did not score the firms (no store given, or the store cannot be scored)."""


def retrain(history: History, config: ModelConfig, workdir: Path, *, as_of: date | None = None,
            truth: Path | None = None, engine: Engine | None = None, serving: Path | None = None) -> RetrainOutcome:
    """Rebuild the panel from ``history`` as of ``as_of``, train and register a challenger, run the gate, apply it.

    Parameters
    ----------
    as_of
        The month end retrained for (default: today by the clock): the history is read as it
        stood at this date's midnight, and a promoted champion scores the firms as of it.
    engine
        The operational store. A promoted champion scores every firm of it as of ``as_of``
        (``firm_scores``); the champion the gate leaves in place is then monitored on the new
        panel and the run stored there. A failure to score or monitor is reported in
        ``scoring_note`` or ``monitoring_note``, not raised, since the retrain itself is done by then.
    serving
        The serving folder: a promoted champion's files are exported there. Without it (or
        without a promotion) nothing is exported and nothing is scored.

    Raises
    ------
    ValueError
        If ``as_of`` is after today, the configured label is not ``default_<N>m``, the history
        (up to ``as_of``) is too short for the windows, or training fails (the message says why).
    """
    today = clock.today()
    as_of = as_of or today
    if as_of > today:
        raise ValueError(f"as-of {as_of} is after today ({today}): a month end is retrained for once it has passed")
    horizon = re.fullmatch(r"default_(\d+)m", config.training.label)
    if not horizon:
        raise ValueError(f"[training] label must be default_<N>m to rebuild the panel; got {config.training.label!r}")
    with clock.running_on(clock.FixedClock(datetime.combine(as_of, datetime.min.time()))):
        # the history as it stood at the as-of date: its end, and so the labels' horizons, stop there
        first_event, history_end = history.span()
        first = first_complete_as_of(first_event.date())
        last = history_end.date().replace(day=1)
        if last <= first:
            raise ValueError(f"the history ({first_event.date()} to {history_end.date()}) is too short: the panel "
                             f"starts {first}, when the longest feature window ({longest_window()} days) lies "
                             "within it")
        dates = monthly(first, last)
        panel_folder = workdir / "panel"
        write_panel(build_panel(history, dates, horizon_months=int(horizon.group(1))), panel_folder)
    panel = read_panel(panel_folder, config.training.label).observed()
    workdir.mkdir(parents=True, exist_ok=True)
    training = train_pd(panel, config, truth=truth,
                        report_path=workdir / f"retrain-{clock.now():%Y%m%d-%H%M%S}.html")
    judgement = judge_challenger(panel, config, training.registered.version)
    apply_judgement(judgement)
    served, scoring, scoring_note = None, None, None
    if judgement.decision.promote and serving is not None:
        served, scoring, scoring_note = _serve(serving, engine, as_of)
    return RetrainOutcome(panel_folder, dates, training, judgement, *_monitored(engine, panel_folder, history),
                          served=served, scoring=scoring, scoring_note=scoring_note)


def _serve(serving: Path, engine: Engine | None, as_of: date) -> tuple[Path, ScoringRun | None, str | None]:
    """Export the champion to ``serving`` and score every firm of the store with it as of ``as_of``."""
    from credit.models import CHAMPION, REGISTERED_MODEL
    from credit.models.registry import export_serving_files
    from credit.scoring.batch import score_all

    folder = export_serving_files(REGISTERED_MODEL, CHAMPION, serving)
    if engine is None:
        return folder, None, "no store given: the firms were not scored"
    try:
        return folder, score_all(engine, folder, as_of), None
    except (ValueError, OSError) as exc:  # AsOfError and HistoryError are ValueErrors
        return folder, None, f"the firms were not scored: {exc}"


def _monitored(engine: Engine | None, panel_folder: Path, history: History) -> tuple[MonitoringRun | None, str | None]:
    if engine is None:
        return None, "no store given: the champion was not monitored"
    from credit.models.registry import ModelNotFoundError
    from credit.monitoring.run import MonitoringError, monitor_champion

    try:
        return monitor_champion(engine, panel_folder, history=history), None
    except (ModelNotFoundError, MonitoringError) as exc:
        return None, f"the champion was not monitored: {exc}"

