"""Reading stored monitoring runs: what the API and the finance console show.

A run is written by :func:`credit.monitoring.run.monitor` (tables in
:mod:`credit.monitoring.tables`); :func:`latest_run` reads the newest one back as plain frozen
dataclasses, and :func:`warnings_of_firm` one firm's early warnings in it. Nothing here
imports pandas or the feature engine: this module is on the request path.

Statuses are traffic lights: ``ok``, ``watch``, ``alarm``. For a PSI: below 0.1, 0.1 to 0.25,
0.25 and above (the thresholds of credit/monitoring/monitoring.toml). For a grade's
calibration: the grade's predicted rate inside the 95% Clopper-Pearson interval of its
realised default rate, outside it, or outside the 99.9% interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from credit.money import MARKETPLACE_CURRENCY, from_minor
from credit.monitoring.tables import (
    EarlyWarningRecord,
    GradeCalibrationRecord,
    MonitoringRunRecord,
    PsiRecord,
    VintageCalibrationRecord,
)

WARNING_REASONS: dict[str, str] = {
    "grade_drop": "Its risk grade fell by two or more notches over the last three months.",
    "new_overdue": "Invoices it owes slipped well past their due date (30 days by default) in the last month, still unpaid.",
    "dbt_rising": "It pays later than before: its days beyond terms rose over the last 90 days.",
    "partner_default": "A large trading partner had a credit event recently (contagion through the trade network).",
    "arrears_approaching": "An invoice it owes falls due soon and, paying as late as it has lately, "
                           "it would be blocked at checkout for arrears.",
    "utilisation_high": "It has used nearly all of its credit line (posted and held exposure against the limit).",
}
"""The fixed catalogue of early-warning reason codes, in display order, with their plain-language text."""

STATUSES: tuple[str, ...] = ("ok", "watch", "alarm")


@dataclass(frozen=True)
class PsiRow:
    """The population stability index of one variable in one segment.

    ``variable`` is ``"score"`` (the champion's PD) or a model feature; ``segment`` is
    ``"all"`` or ``"industry=<name>"``; ``status`` is ``ok``, ``watch`` or ``alarm``.
    """

    variable: str
    segment: str
    psi: float
    status: str
    expected_rows: int = 0
    actual_rows: int = 0


@dataclass(frozen=True)
class GradeCalibration:
    """Realised against predicted 12-month default rate of one grade, with the 95% interval of the realised rate."""

    grade: str
    firms: int
    defaults: int
    predicted_rate: float
    realised_rate: float
    ci_low: float
    ci_high: float
    status: str


@dataclass(frozen=True)
class VintageCalibration:
    """Realised against predicted 12-month default rate of one as-of month (cohort) whose outcome has matured."""

    vintage: date
    firms: int
    defaults: int
    predicted_rate: float
    realised_rate: float
    ci_low: float
    ci_high: float
    in_training: bool = False


@dataclass(frozen=True)
class EarlyWarning:
    """A firm on the early-warning list: reason codes of :data:`WARNING_REASONS` and, per code, its numbers."""

    firm_id: int
    reasons: tuple[str, ...]
    details: dict[str, Any] = field(default_factory=dict)


def early_warning_event_data(warning: EarlyWarning, run_id: int, as_of: date, exposure) -> dict[str, Any]:  # noqa: ANN001
    """A firm entering the early-warning list, as its event carries it (the firm is the event's object and
    ``firm_id``): the run, the reasons and their numbers (money in minor units, as the monitoring API shows
    them), and the book's exposure on the firm.

    ``exposure`` is a :class:`credit.financing.exposure.FirmExposure`.
    """
    return {"run_id": run_id, "as_of": as_of, "reasons": list(warning.reasons),
            "details": warning.details, "currency": MARKETPLACE_CURRENCY,
            "exposure": {"as_debtor": from_minor(exposure.as_debtor), "as_supplier": from_minor(exposure.as_supplier)}}


@dataclass(frozen=True)
class MonitoringRun:
    """One stored monitoring run with all its results.

    ``training_from`` and ``training_to`` are the as-of dates the model was fitted on (the
    PSI's expected distribution); ``as_of`` is the month compared with them.
    ``calibration_vintage`` is the as-of month behind :attr:`grades` (None when no month has
    a matured outcome). :attr:`warnings` are ordered by number of reasons, then firm.
    """

    run_id: int
    created_at: datetime
    as_of: date
    model_name: str
    model_version: str
    training_from: date
    training_to: date
    psi: tuple[PsiRow, ...]
    grades: tuple[GradeCalibration, ...]
    vintages: tuple[VintageCalibration, ...]
    warnings: tuple[EarlyWarning, ...]
    calibration_vintage: date | None = None
    firms: int = 0
    source: str = ""
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def alarms(self) -> tuple[PsiRow | GradeCalibration, ...]:
        """What makes the run not calm: score PSI rows and grades whose status is ``alarm``.

        The precise definition of "no alarms" (see :mod:`credit.monitoring.run`): the PSI of
        the score is below the alarm level (0.25) in the whole book and in every segment
        assessed, and no grade's mean PD lies outside the 99.9% interval of its realised
        default rate. Feature PSIs are diagnostics that explain a moving score (the
        characteristic analysis), not alarms: some features drift in any book by construction
        (time on the platform, counts over the whole history, quarter-on-quarter growth
        against the season). What is at ``watch`` is in :attr:`watches`, not here; the
        early-warning list is reported, not counted.
        """
        return self._score_and_grades_at("alarm")

    @property
    def watches(self) -> tuple[PsiRow | GradeCalibration, ...]:
        """Score PSI rows and grades whose status is ``watch``: moved, but not enough to alarm."""
        return self._score_and_grades_at("watch")

    def _score_and_grades_at(self, status: str) -> tuple[PsiRow | GradeCalibration, ...]:
        return (*(row for row in self.psi if row.variable == "score" and row.status == status),
                *(grade for grade in self.grades if grade.status == status))

    @property
    def drifting_features(self) -> tuple[PsiRow, ...]:
        """Feature PSI rows at ``watch`` or ``alarm``, largest PSI first (the diagnostics behind a score alarm)."""
        return tuple(sorted((row for row in self.psi if row.variable != "score" and row.status != "ok"),
                            key=lambda row: (-row.psi, row.segment, row.variable)))


_RUNS = MonitoringRunRecord.__table__
_LATEST = select(_RUNS).order_by(_RUNS.c.created_at.desc(), _RUNS.c.run_id.desc()).limit(1)


def latest_run(session: Session | Connection) -> MonitoringRun | None:
    """The newest monitoring run (latest ``created_at``, then highest id) with all its results.

    Parameters
    ----------
    session
        A session or connection on the store.

    Returns
    -------
    MonitoringRun or None
        None before the first run.
    """
    row = session.execute(_LATEST).first()
    return None if row is None else _run(session, row)


def run_by_id(session: Session | Connection, run_id: int) -> MonitoringRun | None:
    """The run ``run_id``; None if there is none."""
    row = session.execute(select(_RUNS).where(_RUNS.c.run_id == run_id)).first()
    return None if row is None else _run(session, row)


def warnings_of_firm(session: Session | Connection, firm_id: int) -> tuple[EarlyWarning, ...]:
    """The firm's early warning in the latest run.

    Parameters
    ----------
    session
        A session or connection on the store.
    firm_id
        The firm.

    Returns
    -------
    tuple of EarlyWarning
        One item when the firm is on the latest run's list; empty when it is not, or before
        the first run.
    """
    latest = session.execute(select(_RUNS.c.run_id).order_by(_RUNS.c.created_at.desc(), _RUNS.c.run_id.desc())
                             .limit(1)).scalar()
    if latest is None:
        return ()
    table = EarlyWarningRecord.__table__
    rows = session.execute(select(table.c.firm_id, table.c.reasons, table.c.details)
                           .where(table.c.run_id == latest, table.c.firm_id == firm_id)).all()
    return tuple(_warning(row) for row in rows)


def ordered_reasons(codes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``codes`` in the catalogue's order; ValueError for a code not in :data:`WARNING_REASONS`."""
    unknown = sorted(set(codes) - set(WARNING_REASONS))
    if unknown:
        raise ValueError(f"unknown early-warning reason code(s) {unknown}; the catalogue is {list(WARNING_REASONS)}.")
    return tuple(code for code in WARNING_REASONS if code in codes)


def _warning(row: Any) -> EarlyWarning:
    return EarlyWarning(firm_id=int(row.firm_id), reasons=tuple(row.reasons), details=dict(row.details))


def _run(session: Session | Connection, row: Any) -> MonitoringRun:
    run_id = row.run_id
    psi_table, grade_table = PsiRecord.__table__, GradeCalibrationRecord.__table__
    vintage_table, warning_table = VintageCalibrationRecord.__table__, EarlyWarningRecord.__table__
    psi = session.execute(select(psi_table).where(psi_table.c.run_id == run_id)
                          .order_by(psi_table.c.segment, psi_table.c.variable)).all()
    grades = session.execute(select(grade_table).where(grade_table.c.run_id == run_id)).all()
    rank = {grade: i for i, grade in enumerate(row.settings.get("grades", []))}
    grades = sorted(grades, key=lambda g: (rank.get(g.grade, len(rank)), g.grade))
    vintages = session.execute(select(vintage_table).where(vintage_table.c.run_id == run_id)
                               .order_by(vintage_table.c.vintage)).all()
    warnings = session.execute(select(warning_table.c.firm_id, warning_table.c.reasons, warning_table.c.details)
                               .where(warning_table.c.run_id == run_id)).all()
    listed = sorted((_warning(w) for w in warnings), key=lambda w: (-len(w.reasons), w.firm_id))
    return MonitoringRun(
        run_id=run_id, created_at=row.created_at, as_of=row.as_of, model_name=row.model_name,
        model_version=row.model_version, training_from=row.training_from, training_to=row.training_to,
        psi=tuple(PsiRow(p.variable, p.segment, p.psi, p.status, p.expected_rows, p.actual_rows) for p in psi),
        grades=tuple(GradeCalibration(g.grade, g.firms, g.defaults, g.predicted_rate, g.realised_rate, g.ci_low,
                                      g.ci_high, g.status) for g in grades),
        vintages=tuple(VintageCalibration(v.vintage, v.firms, v.defaults, v.predicted_rate, v.realised_rate, v.ci_low,
                                          v.ci_high, v.in_training) for v in vintages),
        warnings=tuple(listed), calibration_vintage=row.calibration_vintage, firms=row.firms, source=row.source,
        settings=dict(row.settings))
