"""Response schemas of the monitoring routes (read-only: there is no request body); money as decimal strings."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.kit.contract import UtcDateTime
from api.kit.money import AmountOut
from credit.monitoring.financing_warnings import FINANCING_WARNING_REASONS
from credit.monitoring.results import WARNING_REASONS

Status = Literal["ok", "watch", "alarm"]


class RunOut(BaseModel):
    """Which run, which model, which months."""

    run_id: int
    created_at: UtcDateTime = Field(description="When the run finished (UTC).")
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
    """One page of the run's PSI rows; pass `next_cursor` as `cursor` for the next one."""

    run: RunOut
    items: list[PsiOut]
    next_cursor: str | None = Field(description="Opaque, for this run only; null on the last page.")


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
    code: Literal[tuple({**WARNING_REASONS, **FINANCING_WARNING_REASONS})] = Field(  # type: ignore[valid-type]
        examples=["grade_drop"], description="A code of the firms' or the financings' early-warning catalogue.")
    text: str


class EarlyWarningOut(BaseModel):
    firm_id: int
    reasons: list[WarningReasonOut] = Field(description="Reason codes in the catalogue's order, with their text.")
    details: dict[str, dict[str, Any]] = Field(
        description="Per reason code, the numbers behind it (money in integer minor units).")


class EarlyWarningList(BaseModel):
    run: RunOut
    total: int = Field(description="Firms listed with the filter, on every page.")
    items: list[EarlyWarningOut]
    next_cursor: str | None = Field(description="Opaque, for this run only; null on the last page.")


# --------------------------------------------------------------------------- the book's own figures

Bucket = Literal["current", "1-30", "31-60", "61-90", "90+"]


class RollCellOut(BaseModel):
    to: Literal["current", "1-30", "31-60", "61-90", "90+", "settled"] = Field(
        description="Where the lines stood at the next month end: an ageing bucket, or `settled` (owing nothing).")
    lines: int
    line_share: float | None = Field(description="lines / the row's lines; null for an empty row.")
    open: AmountOut = Field(description="What these lines owed at the first month end.")
    amount_share: float | None = Field(description="open / the row's open amount; null when the row owed nothing.")


class RollRowOut(BaseModel):
    bucket: Bucket = Field(description="The lines' ageing bucket at the first month end.")
    lines: int = Field(description="Lines in the bucket owing something (or past due) at the first month end.")
    open: AmountOut = Field(description="What they owed then.")
    cells: list[RollCellOut] = Field(description="One per state at the next month end: the buckets, then `settled`.")


class RollMatrixOut(BaseModel):
    from_day: date = Field(description="Month-end snapshot the lines are counted on.")
    to_day: date = Field(description="The next month's month-end snapshot.")
    rows: list[RollRowOut] = Field(description="current, 1-30, 31-60, 61-90 and 90+ (default), in that order.")


class VintagePointOut(BaseModel):
    months_on_book: int = Field(description="Months after the capture month (0: its own month end).")
    as_of: date = Field(description="The month-end snapshot day.")
    charged_off: AmountOut = Field(description="Principal charged off by then, cumulative, gross of recoveries.")
    charged_off_share: float | None = Field(description="charged_off / the vintage's principal.")
    past_due: AmountOut = Field(description="Principal owed then more than 30 days past due (not charged off).")
    past_due_share: float | None = Field(description="past_due / the vintage's principal.")


class VintageOut(BaseModel):
    vintage: date = Field(description="The capture month (its first day).")
    captures: int = Field(description="Receivables captured that month (installment plans count as their capture).")
    principal: AmountOut = Field(description="Their principal, net of seller refunds.")
    points: list[VintagePointOut]


class BookGradeOut(BaseModel):
    grade: str = Field(description="Grade of the firm's PD when its line opened, or `ungraded` (no score then).")
    lines: int = Field(description="Lines with at least one receivable.")
    defaults: int = Field(description="Lines that reached default (a default step, or a receivable charged off).")
    predicted_pd: float | None = Field(description="Mean PD at opening; null for `ungraded`.")
    realised_rate: float = Field(description="defaults / lines.")
    ci_low: float = Field(description="Clopper-Pearson interval of the realised rate (level in `interval`), lower end.")
    ci_high: float = Field(description="Upper end.")
    status: Status | None = Field(description="ok: predicted inside the interval; watch: outside; alarm: outside "
                                              "99.9%. Null for `ungraded`.")


class AllocatedOut(BaseModel):
    late_fee: AmountOut
    fee: AmountOut
    principal: AmountOut
    credit_refund: AmountOut = Field(description="Credit balance paid back to buyers.")


class CollectionsOut(BaseModel):
    """The book's collections in a period (both days included); net figures can be negative."""

    start: date
    end: date
    received: AmountOut = Field(description="Repayments received in the period.")
    received_count: int
    returned: AmountOut = Field(description="Repayments the bank returned in the period.")
    returned_count: int
    allocated: AllocatedOut = Field(description="Net allocations booked in the period, by part (returns negative).")
    credit_balance: AmountOut = Field(description="Buyers' credit balances together at the end of the period.")
    late_fees_assessed: AmountOut
    late_fees_paid: AmountOut
    charged_off: AmountOut = Field(description="Exposure moved to realised loss in the period.")
    recovered: AmountOut = Field(description="Principal collected in the period on receivables charged off before.")
    realised_loss: AmountOut = Field(description="charged_off - recovered.")


class BookOut(BaseModel):
    """The book's own figures from the servicing tables: roll rates, vintages, default by grade, collections."""

    month_ends: list[date] = Field(description="The month-end snapshot days the roll rates and vintages read.")
    roll_rates: list[RollMatrixOut] = Field(description="Between consecutive month ends, oldest first.")
    vintages: list[VintageOut] = Field(description="By capture month, oldest first.")
    interval: str = Field(description="How the grades' intervals are computed.", examples=["Clopper-Pearson, 95%"])
    grades: list[BookGradeOut] = Field(description="Grades holding lines, best first, then `ungraded`.")
    collections: CollectionsOut


# --------------------------------------------------------------------------- the financing book


class FinancingProductOut(BaseModel):
    """One product's row of the financing book at the end of the day (journal rows booked on or before it)."""

    kind: Literal["order", "receivable", "loan"]
    outstanding_count: int = Field(description="Financings with something at risk at the end of the day.")
    outstanding: AmountOut = Field(description="Their amount at risk: the advance while booked and not paid out, "
                                               "then paid out - collected - recovered - written off.")
    paid_out_count: int = Field(description="Financings paid out by then.")
    paid_out: AmountOut = Field(description="Principal paid out.")
    collected: AmountOut = Field(description="Principal collected from the debtor or the borrower's sales.")
    recovered: AmountOut = Field(description="Principal recovered from the supplier (recourse, clawback).")
    written_off: AmountOut = Field(description="Principal and fee written off.")
    written_back: AmountOut = Field(description="Write-offs reversed by a later recovery.")
    realised_loss: AmountOut = Field(description="written_off - written_back.")
    diluted: AmountOut = Field(description="Invoice value lost after financing (returns, credit notes, disputes lost).")
    financed_face: AmountOut = Field(description="Face of the financings paid out.")
    dilution_share: float | None = Field(description="Receivables: diluted / financed_face; null otherwise.")
    fees_earned: AmountOut = Field(description="Fee charged (accrued or flat, net of waivers).")
    fees_received: AmountOut = Field(description="Fee collected and recovered.")
    released: AmountOut = Field(description="Surplus paid to suppliers (reserve less fee, overpayments).")
    overdue_count: int = Field(description="Financings late at the end of the day: invoice overdue, order advance "
                                           "past due, or a loan's period minimum missed.")
    overdue: AmountOut = Field(description="Their amount at risk.")
    recourse_count: int = Field(description="Financings whose status now is `recourse` (statuses are not journaled: "
                                            "for a past day, as they stand, not as they stood).")
    recourse: AmountOut = Field(description="Their amount at risk at the end of the day.")
    defaulted_count: int = Field(description="Financings whose status now is `defaulted` (as for recourse).")
    defaulted: AmountOut = Field(description="Their amount at risk at the end of the day.")


class FinancingWarningOut(BaseModel):
    financing_id: int
    kind: Literal["order", "receivable", "loan"]
    firm_id: int = Field(description="The firm advanced to: the supplier, or the loan's borrower.")
    buyer_id: int | None = Field(description="The order's buyer or the invoice's debtor; null for a loan.")
    rule: WarningReasonOut = Field(description="The rule that flagged it, with its text.")
    at_risk: AmountOut = Field(description="The financing's amount at risk at the end of the day.")
    details: dict[str, Any] = Field(description="The numbers behind the rule (money in integer minor units).")


class FinancingBookOut(BaseModel):
    """The financing book by product at the end of a business day, and that day's early warnings."""

    as_of: date = Field(description="The business day: journal rows booked on or before it, history before its end.")
    statuses_read_at: UtcDateTime = Field(description="When the statuses behind recourse and defaulted were read (UTC).")
    products: list[FinancingProductOut] = Field(description="order, receivable and loan, in that order.")
    warnings: list[FinancingWarningOut] = Field(description="By rule in the catalogue's order, then by financing.")
