"""One monitoring run: score the panel with the champion, compare the month monitored with training, store it.

:func:`monitor` is what ``credit monitor`` and the end of ``credit retrain`` call. It reads a
feature panel (:func:`credit.features.panel.read_panel`), scores its rows with the model
monitored, and computes:

* **PSI** (:mod:`credit.monitoring.psi`) of the score and of every model feature, rows of the
  training window (as-of dates ``training_from`` to ``training_to``, the rows the model was
  fitted on) against the rows of the month monitored, for the whole book (segment ``all``)
  and for each industry (``industry=<name>``) with at least ``min_rows`` rows on both sides;
* **calibration** (:mod:`credit.monitoring.calibration`) by grade on the latest vintage whose
  outcome has matured by the month monitored, and by every matured vintage;
* the **early-warning list** (:mod:`credit.monitoring.early_warning`).

It stores one ``monitoring_runs`` row and its children in one transaction and returns the
run as :func:`credit.monitoring.results.latest_run` will read it. In that transaction, each firm
with exposure (:func:`credit.financing.exposure.firm_exposure`) that enters the list (listed now,
not by the run before) gets an ``early_warning.raised`` event
(:func:`credit.monitoring.results.early_warning_event_data`): once per entry, not every run.

Alarms
------
"No alarms" has one meaning in this package (:attr:`MonitoringRun.alarms
<credit.monitoring.results.MonitoringRun.alarms>`):

* the PSI of the **score** is below the alarm level (0.25) in the whole book and in every
  segment assessed, and
* no grade is at ``alarm`` in the calibration (its mean PD outside the 99.9%
  Clopper-Pearson interval of its realised default rate).

A score PSI or a grade at ``watch`` is counted apart (:attr:`MonitoringRun.watches
<credit.monitoring.results.MonitoringRun.watches>`), never as an alarm. Everything else is
reported, not alarmed on. Feature PSIs explain a moving score (which
characteristics moved, in which industry) but do not alarm by themselves: in any book some
features drift by construction: ``tenure_days`` and the counts over the whole history
(``*_all``) grow as the book ages, the partners-defaulted features accumulate every default
since the history began, and quarter-on-quarter growth follows the season. A grade at
``watch`` (outside its 95% interval only) is no alarm: among eight grades one
falls outside its 95% interval by chance in about a third of calm runs. The early-warning
list is never empty in a real book, since firms deteriorate one by one in any economy.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from credit import clock
from credit.features.labels import add_months
from credit.events import outbox
from credit.features.panel import Panel, PanelError, read_panel
from credit.financing.exposure import firm_exposure
from credit.models import CHAMPION, REGISTERED_MODEL
from credit.monitoring.calibration import by_grade, by_vintage
from credit.monitoring.config import MonitoringConfig, load_monitoring_config
from credit.monitoring.early_warning import early_warnings, gather_inputs
from credit.monitoring.psi import psi, status_of
from credit.monitoring.results import EarlyWarning, MonitoringRun, PsiRow, early_warning_event_data, run_by_id
from credit.monitoring.tables import (
    EarlyWarningRecord,
    GradeCalibrationRecord,
    MonitoringRunRecord,
    PsiRecord,
    VintageCalibrationRecord,
)
from credit.policy import Policy, default_policy

SCORE = "score"
"""The PSI variable name of the model's PD."""


class MonitoringError(ValueError):
    """Monitoring cannot run on what it was given; the message says what and where."""


@dataclass(frozen=True)
class MonitoredModel:
    """The model monitored: its identity, the as-of dates it was fitted on, and how it scores.

    Build it with :meth:`from_serving` (exported serving files, ``credit monitor``) or
    :meth:`from_registry` (the MLflow registry, ``credit retrain``).
    """

    name: str
    version: str
    features: tuple[str, ...]
    training_from: date
    training_to: date
    scorer: Callable[[pd.DataFrame], np.ndarray]

    def predict_pd(self, frame: pd.DataFrame) -> np.ndarray:
        """PD of each row of ``frame`` (which holds at least :attr:`features`)."""
        return np.asarray(self.scorer(frame), dtype=np.float64)

    @classmethod
    def from_serving(cls, folder: str | Path, training_window: tuple[date, date] | None = None) -> MonitoredModel:
        """The model in a serving folder (:func:`credit.models.registry.export_serving_files`).

        Parameters
        ----------
        folder
            The serving files.
        training_window
            First and last as-of date the model was fitted on; read from its MLflow run
            (``version.json`` names it) when omitted, so :func:`credit.models.registry.tracking`
            must point at the registry that trained it.

        Raises
        ------
        MonitoringError
            If the files cannot be read or the run does not record its windows.
        """
        from credit.models.serving import ServingModel

        try:
            model = ServingModel.load(folder)
        except (OSError, KeyError, ValueError) as exc:
            raise MonitoringError(f"no readable serving files in {folder} ({type(exc).__name__}: {exc}); export "
                                  f"them with `credit models export-champion --out {folder}`") from exc
        window = training_window or training_window_of_run(model.run_id)
        return cls(model.name, model.version, tuple(model.features), *_ordered(window), model.predict_pd)

    @classmethod
    def from_registry(cls, name: str, alias: str) -> MonitoredModel:
        """The registered version under ``name@alias``, with the training window its run logged.

        Raises
        ------
        credit.models.registry.ModelNotFoundError
            If there is no such model or alias.
        MonitoringError
            If its run does not record its windows.
        """
        from credit.models.registry import load_version, resolve_alias

        version = resolve_alias(name, alias)
        model = load_version(name, version.version)
        features = [str(column) for column in model.feature_names_in_]
        return cls(name, version.version, tuple(features), *_ordered(training_window_of_run(version.run_id)),
                   lambda frame: model.predict_proba(frame[features])[:, 1])


def _ordered(window: tuple[date, date]) -> tuple[date, date]:
    first, last = window
    if first > last:
        raise MonitoringError(f"the training window must run forwards; got {first} to {last}")
    return first, last


_WINDOW = re.compile(r"^(\d{4}-\d{2}-\d{2}) to (\d{4}-\d{2}-\d{2}) \(")


def training_window_of_run(run_id: str) -> tuple[date, date]:
    """First and last as-of date a PD model was fitted on, from its training run in MLflow.

    :func:`pipelines.train_pd.train_pd` logs each out-of-time window as a parameter
    (``window.train`` = ``"2023-04-01 to 2024-04-01 (13 as-of dates, ...)"``); the model is
    fitted on the train and valid windows (:func:`credit.models.training.train_on_panel`),
    so the window runs from the first date of ``window.train`` to the last of ``window.valid``.

    Raises
    ------
    MonitoringError
        If the run does not exist in the current tracking store or lacks those parameters.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        params = mlflow.MlflowClient().get_run(run_id).data.params
    except MlflowException as exc:
        raise MonitoringError(f"the model's training run {run_id!r} is not in the MLflow store at "
                              f"{mlflow.get_tracking_uri()}; point --tracking-uri at it or give the training "
                              "window (--training-from, --training-to)") from exc
    found = {key: _WINDOW.match(params.get(key, "")) for key in ("window.train", "window.valid")}
    missing = [key for key, match in found.items() if match is None]
    if missing:
        raise MonitoringError(f"the model's training run {run_id!r} does not record {' and '.join(missing)} "
                              "('<first> to <last> (...)'); give the training window (--training-from, "
                              "--training-to)")
    return date.fromisoformat(found["window.train"].group(1)), date.fromisoformat(found["window.valid"].group(2))


def monitor(engine: Engine, panel: str | Path | Panel, model: MonitoredModel, *, as_of: date | None = None,
            history=None, config: MonitoringConfig | None = None, policy: Policy | None = None) -> MonitoringRun:  # noqa: ANN001
    """Monitor ``model`` on a feature panel and store the run.

    Parameters
    ----------
    engine
        The operational store: the run is written there, and the credit lines are read.
    panel
        The feature panel folder (or a panel :func:`~credit.features.panel.read_panel` read);
        it must hold rows of the training window and of the month monitored.
    model
        The champion (:class:`MonitoredModel`).
    as_of
        The month monitored: an as-of date of the panel, not after today (the clock); by
        default the panel's latest that is not. Only outcomes matured by then count.
    history
        The transaction history (:class:`credit.features.history.History`) for the
        early-warning rules; read from the store when omitted.
    config
        Thresholds; the shipped ``monitoring.toml`` when omitted.
    policy
        The credit policy (master scale, arrears block); the shipped one when omitted.

    Returns
    -------
    MonitoringRun
        The run as stored.

    Raises
    ------
    MonitoringError
        If the folder holds no readable panel, the panel lacks the model's features, the month
        monitored or the training window, or the month monitored is after today.
    """
    config = config or load_monitoring_config()
    policy = policy or default_policy()
    if not isinstance(panel, Panel):
        try:
            panel = read_panel(panel)
        except PanelError as exc:
            raise MonitoringError(str(exc)) from exc
    frame = panel.frame
    missing = [name for name in model.features if name not in frame.columns]
    if missing:
        raise MonitoringError(f"the panel in {panel.folder} lacks {len(missing)} feature(s) of {model.name} version "
                              f"{model.version}, e.g. {missing[:5]}: rebuild it with the model's feature definitions")
    segment_by = config.psi.segment_by
    if segment_by not in frame.columns:
        raise MonitoringError(f"the panel in {panel.folder} has no column {segment_by!r} to segment the PSI by")
    day = frame["as_of"].dt.date
    dates = sorted(set(day))
    today = clock.today()
    if as_of is not None and as_of > today:
        raise MonitoringError(f"the month monitored ({as_of}) is after today ({today}): its outcomes and "
                              "transactions have not happened yet")
    as_of = as_of or max((d for d in dates if d <= today), default=None)
    if as_of is None:
        raise MonitoringError(f"every as-of date of the panel in {panel.folder} ({dates[0]} to {dates[-1]}) is after "
                              f"today ({today}): a panel of the future cannot be monitored")
    if as_of not in set(dates):
        raise MonitoringError(f"{as_of} is not an as-of date of the panel in {panel.folder} "
                              f"({dates[0]} to {dates[-1]}, monthly)")
    if as_of <= model.training_to:
        raise MonitoringError(f"the month monitored ({as_of}) must come after the training window of {model.name} "
                              f"version {model.version} ({model.training_from} to {model.training_to})")
    in_training = (day >= model.training_from) & (day <= model.training_to)
    if not in_training.any():
        raise MonitoringError(f"the panel in {panel.folder} ({dates[0]} to {dates[-1]}) holds no row of the training "
                              f"window of {model.name} version {model.version} ({model.training_from} to "
                              f"{model.training_to}): monitor with a panel that covers it")
    known = frame[day <= as_of]
    pd_ = pd.Series(model.predict_pd(known), index=known.index)
    known_day = known["as_of"].dt.date

    psi_rows, skipped = _psi_rows(known, pd_, in_training[known.index], known_day == as_of, model.features, config)

    # outcomes known at as_of: the whole horizon lies before it (and inside the history)
    matured = known[(known_day.map(lambda d: add_months(d, panel.horizon_months)) <= min(as_of, panel.history_end.date()))
                    & known[panel.label].notna()]
    vintage = max(matured["as_of"].dt.date) if len(matured) else None
    grades = ()
    if vintage is not None:
        cohort = matured[matured["as_of"].dt.date == vintage]
        grades = by_grade(policy.grades_of(pd_[cohort.index].to_numpy()), pd_[cohort.index].to_numpy(),
                          cohort[panel.label].to_numpy(), policy.grades,
                          confidence=config.calibration.confidence,
                          alarm_confidence=config.calibration.alarm_confidence)
    vintages = by_vintage(matured["as_of"].to_numpy(), pd_[matured.index].to_numpy(), matured[panel.label].to_numpy(),
                          (model.training_from, model.training_to), confidence=config.calibration.confidence)

    before = add_months(as_of, -config.early_warning.grade_drop_months)
    before = before if before in set(dates) else None
    block_days = int(policy.checkout.max_days_past_due)
    if history is None:
        from credit.features.history import History

        history = History.from_store(engine)
    _check_history_reaches(history, as_of)
    inputs = gather_inputs(history, engine, known[known_day.isin({as_of, before})], pd_, as_of, before,
                           config.early_warning, block_days)
    warnings = early_warnings(inputs, config.early_warning, grades_of=policy.grades_of, grade_order=policy.grades,
                              block_days=block_days)

    settings = config.as_dict() | {
        "grades": list(policy.grades), "policy_version": policy.version, "arrears_block_days": block_days,
        "grade_drop_compared_with": before.isoformat() if before else None, "segments_not_assessed": skipped,
        "label": panel.label, "horizon_months": panel.horizon_months}
    created_at = clock.now()
    with Session(engine) as session, session.begin():
        listed_before = _listed_by_latest_run(session)
        record = MonitoringRunRecord(
            created_at=created_at, as_of=as_of, model_name=model.name, model_version=model.version,
            training_from=model.training_from, training_to=model.training_to, calibration_vintage=vintage,
            firms=int((known_day == as_of).sum()), source=str(panel.folder), settings=settings)
        session.add(record)
        session.flush()
        run_id = record.run_id
        if psi_rows:
            session.execute(insert(PsiRecord), [
                {"run_id": run_id, "variable": r.variable, "segment": r.segment, "psi": r.psi, "status": r.status,
                 "expected_rows": r.expected_rows, "actual_rows": r.actual_rows} for r in psi_rows])
        if grades:
            session.execute(insert(GradeCalibrationRecord), [{"run_id": run_id, **vars(g)} for g in grades])
        if vintages:
            session.execute(insert(VintageCalibrationRecord), [{"run_id": run_id, **vars(v)} for v in vintages])
        if warnings:
            session.execute(insert(EarlyWarningRecord), [
                {"run_id": run_id, "firm_id": w.firm_id, "reasons": list(w.reasons), "details": w.details}
                for w in warnings])
        _announce_entries(session, run_id, as_of, [w for w in warnings if w.firm_id not in listed_before], created_at)
    with Session(engine) as session:
        return run_by_id(session, run_id)


def _listed_by_latest_run(session: Session) -> set[int]:
    """The firms on the early-warning list of the newest run stored (none before the first)."""
    latest = (select(MonitoringRunRecord.run_id)
              .order_by(MonitoringRunRecord.created_at.desc(), MonitoringRunRecord.run_id.desc()).limit(1))
    return set(session.execute(select(EarlyWarningRecord.firm_id)
                               .where(EarlyWarningRecord.run_id == latest.scalar_subquery())).scalars())


def _announce_entries(session: Session, run_id: int, as_of: date, entering: list[EarlyWarning], now) -> None:  # noqa: ANN001
    """``early_warning.raised`` for each firm entering the list that the book has exposure on."""
    for warning in sorted(entering, key=lambda w: w.firm_id):
        exposure = firm_exposure(session, warning.firm_id)
        if exposure.total > 0:
            outbox.emit(session, "early_warning.raised", object_id=warning.firm_id, firm_id=warning.firm_id,
                 data=early_warning_event_data(warning, run_id, as_of, exposure), occurred_at=now)


def monitor_champion(engine: Engine, panel: str | Path, *, history=None, config: MonitoringConfig | None = None,  # noqa: ANN001
                     name: str = REGISTERED_MODEL, alias: str = CHAMPION) -> MonitoringRun:
    """Monitor the registered champion on ``panel`` (the end of ``credit retrain``).

    Call :func:`credit.models.registry.tracking` first.

    Raises
    ------
    credit.models.registry.ModelNotFoundError
        If there is no champion yet.
    MonitoringError
        As :func:`monitor`.
    """
    return monitor(engine, panel, MonitoredModel.from_registry(name, alias), history=history, config=config)


def _check_history_reaches(history, as_of: date) -> None:  # noqa: ANN001
    from credit.features.history import HistoryError

    try:
        _, end = history.span()
    except HistoryError as exc:
        raise MonitoringError(f"{exc}: the early-warning rules read the transactions up to the month monitored "
                              f"({as_of}); load them (credit ingest) or give the history the panel was built from") \
            from None
    if end.date() < add_months(as_of, -1):
        raise MonitoringError(f"the history in {history.origin} ends {end.date()}, more than a month before the month "
                              f"monitored ({as_of}): the early-warning rules read the transactions up to it; load "
                              "them (credit ingest) or give the history the panel was built from")


def _psi_rows(known: pd.DataFrame, pd_: pd.Series, expected: pd.Series, actual: pd.Series, features: tuple[str, ...],
              config: MonitoringConfig) -> tuple[list[PsiRow], list[str]]:
    """PSI of the score and each feature for the book and each segment with enough rows; and the segments skipped."""
    segment_by = config.psi.segment_by
    values = known[list(features)].assign(**{SCORE: pd_})
    segments = [("all", pd.Series(True, index=known.index))]
    skipped = []
    for name in sorted(str(v) for v in known.loc[actual, segment_by].dropna().unique()):
        member = known[segment_by].astype(str) == name
        if min(int((member & expected).sum()), int((member & actual).sum())) >= config.psi.min_rows:
            segments.append((f"{segment_by}={name}", member))
        else:
            skipped.append(f"{segment_by}={name}")
    rows = []
    for segment, member in segments:
        e_rows, a_rows = values[member & expected], values[member & actual]
        for variable in (SCORE, *features):
            value = psi(e_rows[variable], a_rows[variable])
            rows.append(PsiRow(variable, segment, round(value, 6), status_of(value, config.psi.watch, config.psi.alarm),
                               len(e_rows), len(a_rows)))
    return rows, skipped
