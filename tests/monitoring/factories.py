"""Plain factories for monitoring tests: stored runs built in memory, with the statuses the thresholds give."""

from __future__ import annotations

from datetime import date, datetime

from credit.models import REGISTERED_MODEL
from credit.monitoring.psi import status_of
from credit.monitoring.results import GradeCalibration, MonitoringRun, PsiRow

WATCH, ALARM = 0.1, 0.25
"""The PSI levels of credit/monitoring/monitoring.toml."""


def psi_row(variable: str, segment: str, value: float) -> PsiRow:
    """A PSI row whose status is the one the monitoring's levels give ``value``."""
    return PsiRow(variable, segment, value, status_of(value, WATCH, ALARM), expected_rows=1_000, actual_rows=300)


def grade_row(grade: str, status: str = "ok") -> GradeCalibration:
    """A grade's calibration with the given status (the rates are illustrative)."""
    return GradeCalibration(grade, firms=300, defaults=3, predicted_rate=0.01, realised_rate=0.01, ci_low=0.002,
                            ci_high=0.029, status=status)


def make_run(*, psi: tuple[PsiRow, ...] = (), grades: tuple[GradeCalibration, ...] = (), **overrides: object
             ) -> MonitoringRun:
    """A monitoring run of version 1 for December 2024, with the PSI rows and grades given."""
    fields = {
        "run_id": 7, "created_at": datetime(2025, 1, 2, 6, 0), "as_of": date(2024, 12, 1), "model_name": REGISTERED_MODEL,
        "model_version": "1", "training_from": date(2023, 3, 1), "training_to": date(2023, 10, 1), "psi": psi,
        "grades": grades, "vintages": (), "warnings": (), "calibration_vintage": date(2023, 12, 1), "firms": 300,
    } | overrides
    return MonitoringRun(**fields)
