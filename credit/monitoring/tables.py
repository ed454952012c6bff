"""Monitoring results in the operational store (migration ``0007_monitoring``).

One monitoring run (:func:`credit.monitoring.run.monitor`) writes one ``monitoring_runs`` row
and its children in one transaction:

* ``monitoring_psi``: the population stability index of the score and of every model
  feature, for the whole book and for each industry;
* ``monitoring_grade_calibration`` and ``monitoring_vintage_calibration``: realised against
  predicted default rates, by grade of the master scale and by as-of month, with the
  Clopper-Pearson interval of the realised rate;
* ``monitoring_early_warnings``: the firms on the early-warning list with their reason codes
  (:data:`credit.monitoring.results.WARNING_REASONS`) and the numbers behind them.

Rows are never updated: a later run is a new run, and readers take the latest
(:func:`credit.monitoring.results.latest_run`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, DateTime, Double, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from credit.store.tables import Base, Identifier, one_of

STATUSES: tuple[str, ...] = ("ok", "watch", "alarm")
"""Traffic light of a PSI or a grade's calibration (thresholds in credit/monitoring/monitoring.toml)."""



def _rate(column: str) -> CheckConstraint:
    return CheckConstraint(f"{column} >= 0 AND {column} <= 1", name=f"{column}_probability")


class MonitoringRunRecord(Base):
    """One monitoring run: which model, which months, when."""

    __tablename__ = "monitoring_runs"
    __table_args__ = (
        CheckConstraint("training_from <= training_to", name="training_window_ordered"),
        Index("ix_monitoring_runs_latest", "created_at", "run_id"),
    )

    run_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True, doc="Run identifier.")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When the run finished (UTC).")
    as_of: Mapped[date] = mapped_column(Date, nullable=False,
                                        doc="The month monitored: the panel's as-of date compared with training.")
    model_name: Mapped[str] = mapped_column(String(200), nullable=False, doc="The champion monitored.")
    model_version: Mapped[str] = mapped_column(String(50), nullable=False, doc="Its registry version.")
    training_from: Mapped[date] = mapped_column(Date, nullable=False,
                                                doc="First as-of date the model was fitted on (PSI's expected side).")
    training_to: Mapped[date] = mapped_column(Date, nullable=False, doc="Last as-of date the model was fitted on.")
    calibration_vintage: Mapped[date | None] = mapped_column(
        Date, doc="The as-of month whose matured 12-month outcomes the grade calibration uses; null: none matured.")
    firms: Mapped[int] = mapped_column(Integer, nullable=False, doc="Firms scored at as_of.")
    source: Mapped[str] = mapped_column(String(1000), nullable=False, doc="The feature panel monitored (its folder).")
    settings: Mapped[dict] = mapped_column(JSON, nullable=False,
                                           doc="The thresholds the run applied (monitoring.toml and the policy's).")


class PsiRecord(Base):
    """The PSI of one variable (the score or a feature) in one segment (the book or one industry)."""

    __tablename__ = "monitoring_psi"
    __table_args__ = (
        CheckConstraint("psi >= 0", name="psi_non_negative"),
        CheckConstraint(one_of("status", STATUSES), name="status_allowed"),
    )

    run_id: Mapped[int] = mapped_column(ForeignKey("monitoring_runs.run_id"), primary_key=True, doc="The run.")
    variable: Mapped[str] = mapped_column(String(200), primary_key=True, doc="`score` or a model feature.")
    segment: Mapped[str] = mapped_column(String(200), primary_key=True, doc="`all` or `industry=<name>`.")
    psi: Mapped[float] = mapped_column(Double, nullable=False, doc="Population stability index, training vs as_of.")
    status: Mapped[str] = mapped_column(String(5), nullable=False, doc="ok, watch or alarm.")
    expected_rows: Mapped[int] = mapped_column(Integer, nullable=False, doc="Rows of the training window.")
    actual_rows: Mapped[int] = mapped_column(Integer, nullable=False, doc="Rows at as_of.")


class GradeCalibrationRecord(Base):
    """Realised against predicted default rate of one grade, on the calibration vintage."""

    __tablename__ = "monitoring_grade_calibration"
    __table_args__ = (
        CheckConstraint("defaults >= 0 AND defaults <= firms", name="defaults_within_firms"),
        CheckConstraint(one_of("status", STATUSES), name="status_allowed"),
        _rate("predicted_rate"), _rate("realised_rate"), _rate("ci_low"), _rate("ci_high"),
    )

    run_id: Mapped[int] = mapped_column(ForeignKey("monitoring_runs.run_id"), primary_key=True, doc="The run.")
    grade: Mapped[str] = mapped_column(String(10), primary_key=True, doc="Grade of the policy's master scale.")
    firms: Mapped[int] = mapped_column(Integer, nullable=False, doc="Firms in the grade at the vintage.")
    defaults: Mapped[int] = mapped_column(Integer, nullable=False, doc="Of them, defaulted within 12 months.")
    predicted_rate: Mapped[float] = mapped_column(Double, nullable=False, doc="Mean PD of the grade.")
    realised_rate: Mapped[float] = mapped_column(Double, nullable=False, doc="defaults / firms.")
    ci_low: Mapped[float] = mapped_column(Double, nullable=False, doc="Clopper-Pearson 95% interval, lower end.")
    ci_high: Mapped[float] = mapped_column(Double, nullable=False, doc="Clopper-Pearson 95% interval, upper end.")
    status: Mapped[str] = mapped_column(String(5), nullable=False,
                                        doc="ok: PD inside the 95% interval; watch: outside it; alarm: outside 99.9%.")


class VintageCalibrationRecord(Base):
    """Realised against predicted default rate of one as-of month whose 12-month outcome has matured."""

    __tablename__ = "monitoring_vintage_calibration"
    __table_args__ = (
        CheckConstraint("defaults >= 0 AND defaults <= firms", name="defaults_within_firms"),
        _rate("predicted_rate"), _rate("realised_rate"), _rate("ci_low"), _rate("ci_high"),
    )

    run_id: Mapped[int] = mapped_column(ForeignKey("monitoring_runs.run_id"), primary_key=True, doc="The run.")
    vintage: Mapped[date] = mapped_column(Date, primary_key=True, doc="The as-of month (cohort).")
    firms: Mapped[int] = mapped_column(Integer, nullable=False, doc="Firms scored at the vintage.")
    defaults: Mapped[int] = mapped_column(Integer, nullable=False, doc="Of them, defaulted within 12 months.")
    predicted_rate: Mapped[float] = mapped_column(Double, nullable=False, doc="Mean PD.")
    realised_rate: Mapped[float] = mapped_column(Double, nullable=False, doc="defaults / firms.")
    ci_low: Mapped[float] = mapped_column(Double, nullable=False, doc="Clopper-Pearson 95% interval, lower end.")
    ci_high: Mapped[float] = mapped_column(Double, nullable=False, doc="Clopper-Pearson 95% interval, upper end.")
    in_training: Mapped[bool] = mapped_column(Boolean, nullable=False, doc="The model was fitted on this vintage.")


class EarlyWarningRecord(Base):
    """A firm on the early-warning list of a run, with its reasons."""

    __tablename__ = "monitoring_early_warnings"
    __table_args__ = (Index("ix_monitoring_early_warnings_firm", "firm_id", "run_id"),)

    run_id: Mapped[int] = mapped_column(ForeignKey("monitoring_runs.run_id"), primary_key=True, doc="The run.")
    # no foreign key to firms: the panel monitored may come from history files not loaded
    # into this store (credit retrain --history DIR)
    firm_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=False,
                                         doc="The firm (of the panel's history).")
    reasons: Mapped[list] = mapped_column(JSON, nullable=False,
                                          doc="Reason codes of credit.monitoring.results.WARNING_REASONS, in its order.")
    details: Mapped[dict] = mapped_column(JSON, nullable=False,
                                          doc="Per reason code, the numbers behind it (money in minor units).")


WORK_ACTIONS: tuple[str, ...] = ("acknowledge", "assign", "note")
"""What the finance team records on an early warning of the work list (credit.monitoring.work_list)."""

NOTE_MAX_LENGTH = 2000
"""The longest note kept on an early warning, in characters."""


class EarlyWarningAction(Base):
    """One thing a person of the finance team did on an early warning: acknowledged it, assigned it, noted it.

    Append-only (migration ``0022_early_warning_work``: triggers refuse UPDATE and DELETE), so the
    rows are the work list's audit log: who did what, when. A warning is a firm in one monitoring
    run (``run_id``, ``firm_id``); where it stands (acknowledged, by whom, assigned to whom) is read
    from its rows (:func:`credit.monitoring.work_list.work_on`).
    """

    __tablename__ = "early_warning_actions"
    __table_args__ = (
        CheckConstraint(one_of("action", WORK_ACTIONS), name="action_allowed"),
        CheckConstraint("(action = 'assign') = (assignee IS NOT NULL)", name="assignee_with_assign"),
        CheckConstraint("(action = 'note') = (note IS NOT NULL)", name="note_with_note"),
        Index("ix_early_warning_actions_warning", "run_id", "firm_id", "action_id"),
    )

    action_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True, doc="Action identifier.")
    # Named without foreign keys: monitoring runs migrate on another branch (see migration 0006_applications).
    run_id: Mapped[int] = mapped_column(Identifier, nullable=False, doc="The monitoring run that listed the firm.")
    firm_id: Mapped[int] = mapped_column(Identifier, nullable=False, doc="The firm warned about.")
    action: Mapped[str] = mapped_column(String(11), nullable=False, doc="acknowledge, assign or note.")
    assignee: Mapped[str | None] = mapped_column(String(100),
                                                 doc="assign: the console user (API key client) now in charge.")
    note: Mapped[str | None] = mapped_column(String(NOTE_MAX_LENGTH), doc="note: the text, as typed.")
    actor: Mapped[str] = mapped_column(String(100), nullable=False, doc="Who did it: key:<id> of the API key.")
    actor_name: Mapped[str] = mapped_column(String(100), nullable=False, doc="That key's name when it was done.")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When (UTC).")
