"""Response schemas of the monitoring routes (read-only: there is no request body)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Status = Literal["ok", "watch", "alarm"]


class RunOut(BaseModel):
    """Which run, which model, which months."""

    run_id: int
    created_at: datetime = Field(description="When the run finished (UTC).")
    as_of: date = Field(description="The month monitored.")
    model_name: str
    model_version: str
    training_from: date = Field(description="First as-of date the model was fitted on (the PSI's expected side).")
    training_to: date = Field(description="Last as-of date the model was fitted on.")
    firms: int = Field(description="Firms scored in the month monitored.")


class PsiOut(BaseModel):
    variable: str = Field(description="`score` (the champion's PD) or a model feature.", examples=["score"])
    segment: str = Field(description="`all` or `industry=<name>`.", examples=["industry=construction"])
    psi: float = Field(description="Population stability index, training window against the month monitored.")
    status: Status = Field(description="ok below 0.1, watch below 0.25, alarm from 0.25.")
    expected_rows: int = Field(description="Rows of the training window in the segment.")
    actual_rows: int = Field(description="Rows of the month monitored in the segment.")


class StatusCounts(BaseModel):
    ok: int = 0
    watch: int = 0
    alarm: int = 0


class MonitoringSummaryOut(BaseModel):
    """The latest monitoring run in brief: alarms, the score's PSI, calibration and the early-warning count."""

    run: RunOut
    alarms: int = Field(description="Score PSI rows and grades at alarm; 0: no alarm (some may be on watch).")
    watches: int = Field(description="Score PSI rows and grades on watch: moved, not enough to alarm.")
    score_psi: list[PsiOut] = Field(description="The score's PSI in the whole book and each industry.")
    feature_psi: StatusCounts = Field(description="Feature PSI rows by status (diagnostics, not alarms).")
    grades: StatusCounts = Field(description="Grades by calibration status.")
    calibration_vintage: date | None = Field(description="The as-of month of the grade calibration; null: none matured.")
    early_warnings: int = Field(description="Firms on the early-warning list.")
    early_warnings_by_reason: dict[str, int] = Field(description="Firms listed per reason code.")
    segments_not_assessed: list[str] = Field(description="Segments with too few rows for a PSI.")


class PsiList(BaseModel):
    run: RunOut
    items: list[PsiOut]


class GradeCalibrationOut(BaseModel):
    grade: str
    firms: int
    defaults: int = Field(description="Firms that defaulted within 12 months.")
    predicted_rate: float = Field(description="Mean PD of the grade.")
    realised_rate: float = Field(description="defaults / firms.")
    ci_low: float = Field(description="Clopper-Pearson 95% interval of the realised rate, lower end.")
    ci_high: float = Field(description="Upper end.")
    status: Status = Field(description="ok: predicted inside the 95% interval; watch: outside; alarm: outside 99.9%.")


class VintageCalibrationOut(BaseModel):
    vintage: date = Field(description="The as-of month (cohort).")
    firms: int
    defaults: int
    predicted_rate: float
    realised_rate: float
    ci_low: float
    ci_high: float
    in_training: bool = Field(description="The model was fitted on this vintage.")


class CalibrationOut(BaseModel):
    """Realised against predicted default rates: by grade on one matured vintage, and by every matured vintage."""

    run: RunOut
    interval: str = Field(description="How the intervals are computed.",
                          examples=["Clopper-Pearson, 95%"])
    calibration_vintage: date | None
    grades: list[GradeCalibrationOut]
    vintages: list[VintageCalibrationOut]


class WarningReasonOut(BaseModel):
    code: str = Field(examples=["grade_drop"])
    text: str


class EarlyWarningOut(BaseModel):
    firm_id: int
    reasons: list[WarningReasonOut] = Field(description="Reason codes in the catalogue's order, with their text.")
    details: dict[str, dict[str, Any]] = Field(
        description="Per reason code, the numbers behind it (money in integer minor units).")


class EarlyWarningList(BaseModel):
    run: RunOut
    total: int = Field(description="Firms listed with the filter, before `limit`.")
    items: list[EarlyWarningOut]
