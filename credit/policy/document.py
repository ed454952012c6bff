"""The policy document's schema: every section and key, with its type and bounds.

Each section forbids unknown keys, so a misspelt key is an error rather than a silently
ignored rule. Money is a strict integer of minor units; rates and shares are decimals given
as strings (a bare YAML float is refused: ``0.1`` read as binary floating point is not one
tenth, and a policy must say exactly what it means).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator


def _exact_decimal(value: object) -> object:
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"must be a decimal in quotes (e.g. \"0.45\"), not the bare number {value!r}")
    if isinstance(value, str):
        try:
            parsed = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"must be a decimal number; got {value!r}") from None
        if not parsed.is_finite():
            raise ValueError(f"must be a finite decimal number; got {value!r}")
        return parsed
    return value


Rate = Annotated[Decimal, BeforeValidator(_exact_decimal), Field(ge=0, le=1)]
"""A share or rate between 0 and 1, as an exact decimal."""

PositiveDecimal = Annotated[Decimal, BeforeValidator(_exact_decimal), Field(gt=0, le=1000)]
Money = Annotated[int, Field(strict=True, ge=0, le=10**15)]
"""An amount in integer minor units."""

Days = Annotated[int, Field(strict=True, ge=0, le=3650)]
Grade = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9+-]{0,3}$")]

POLICY_VERSION_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}\.\d{1,4}$")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KnockOuts(Section):
    """Rules any one of which declines a credit-line application."""

    min_tenure_days: Days
    max_days_past_due: Days
    decline_past_default: bool
    require_verified: bool
    decline_grades: tuple[Grade, ...]


class LimitFormula(Section):
    """Inputs of the credit-line limit: capacity, grade caps and the expected-loss budget."""

    capacity_months: PositiveDecimal
    loss_given_default: Annotated[Rate, Field(gt=0)]
    expected_loss_budget_minor: Money
    grade_caps_minor: dict[Grade, Money]
    min_limit_minor: Money
    max_limit_minor: Money
    rounding_unit_minor: Annotated[Money, Field(ge=1)]

    @model_validator(mode="after")
    def _min_below_max(self) -> LimitFormula:
        if self.min_limit_minor > self.max_limit_minor:
            raise ValueError(f"min_limit_minor ({self.min_limit_minor}) must be <= max_limit_minor "
                             f"({self.max_limit_minor})")
        return self


class ReviewThresholds(Section):
    """When an application goes to the finance team instead of being approved."""

    refer_above_minor: Money
    grey_zone_grades: tuple[Grade, ...]


class PerOrderCap(Section):
    """Largest single order a line pays for: a share of the limit, at most a fixed amount."""

    share_of_limit: Annotated[Rate, Field(gt=0)]
    max_minor: Money


class CreditLinePolicy(Section):
    knock_outs: KnockOuts
    limit: LimitFormula
    review: ReviewThresholds
    per_order_cap: PerOrderCap


class CheckoutPolicy(Section):
    hold_expiry_days: Annotated[Days, Field(ge=1)]
    max_days_past_due: Days
    too_high_risk_grades: tuple[Grade, ...]


SupplierMetric = Literal[
    "supplier_cancellation_rate_365d", "supplier_return_rate_365d", "supplier_dispute_rate_365d",
]
"""Supplier-record features an advance-rate adjustment may look at (panel column names)."""


class SupplierRecordAdjustment(Section):
    """Deduct ``deduct`` from the advance rate when the supplier's ``metric`` is above ``above``."""

    metric: SupplierMetric
    above: Rate
    deduct: Rate


class SupplierRecord(Section):
    min_sales_count_365d: Annotated[int, Field(strict=True, ge=0, le=1_000_000)]
    adjustments: tuple[SupplierRecordAdjustment, ...]


class FeeFormula(Section):
    """fee rate = max(min_fee_rate, (PD x LGD + annual_margin) x tenor_days / 365)."""

    loss_given_default: Rate
    annual_margin: Rate
    min_fee_rate: Rate


class ExposureCaps(Section):
    per_buyer_minor: Money
    per_supplier_minor: Money


class OrderFinancingLifecycle(Section):
    """After the payout: the fee accrues per day outstanding at the yearly rate the quote priced
    (PD x LGD + annual_margin), never less than min_fee_rate x advance; an advance still
    outstanding ``recourse_after_days`` past its due date is recovered from the supplier."""

    recourse_after_days: Days
    write_off_after_days: Annotated[Days, Field(ge=1)]


class OrderFinancingPolicy(Section):
    max_tenor_days: Annotated[Days, Field(ge=1)]
    advance_rates: dict[Grade, dict[Grade, Rate]]
    supplier_record: SupplierRecord
    min_advance_rate: Rate
    min_advance_minor: Money
    exposure_caps: ExposureCaps
    fee: FeeFormula
    lifecycle: OrderFinancingLifecycle


class DilutionReserve(Section):
    """reserve = multiplier x the debtor's return rate, kept within [min_rate, max_rate]."""

    multiplier: PositiveDecimal
    min_rate: Rate
    max_rate: Rate

    @model_validator(mode="after")
    def _min_below_max(self) -> DilutionReserve:
        if self.min_rate > self.max_rate:
            raise ValueError(f"min_rate ({self.min_rate}) must be <= max_rate ({self.max_rate})")
        return self


class ReceivablesPolicy(Section):
    max_invoice_age_days: Annotated[Days, Field(ge=1)]
    min_debtor_grade: Grade
    base_advance_rate: Rate
    dilution_reserve: DilutionReserve
    risk_haircuts: dict[Grade, Rate]
    min_advance_minor: Money
    concentration_caps_minor: dict[Grade, Money]
    collection_days: Days
    fee: FeeFormula
    recourse: dict[Grade, Literal["recourse", "non_recourse"]]
    default_days: Annotated[Days, Field(ge=1)]
    write_off_after_days: Annotated[Days, Field(ge=1)]


class Concentration(Section):
    """One exposure: every product counts (credit lines, order and receivables financing, loans).

    A firm's debtor exposure is its credit line at its limit (while drawable) plus the outstanding
    advances on orders and invoices it owes; its supplier exposure is the outstanding advances
    made to it and its loans (:mod:`credit.financing.exposure`). Every financing is cut to the
    headroom under both caps; a line's limit must fit under the debtor cap after the financings."""

    per_debtor_minor: dict[Grade, Money]
    per_supplier_minor: dict[Grade, Money]


class LoanMinimum(Section):
    """At least (amount + fee) / periods is to be repaid in every ``period_days`` since the payout."""

    periods: Annotated[int, Field(strict=True, ge=1, le=60)]
    period_days: Annotated[Days, Field(ge=1)]


class LoansPolicy(Section):
    """Transaction-flow loans: sized from the firm's trailing platform sales, repaid by withholding."""

    trailing_days: Annotated[Days, Field(ge=30)]
    min_trailing_sales_minor: Money
    min_active_months: Annotated[int, Field(strict=True, ge=0, le=12)]
    max_sales_volatility: PositiveDecimal
    amount_share: dict[Grade, Rate]
    min_amount_minor: Money
    max_amount_minor: Money
    fee_rate: dict[Grade, Rate]
    withholding_rate: dict[Grade, Rate]
    minimum: LoanMinimum
    offer_valid_days: Annotated[Days, Field(ge=1)]
    reoffer_when_amount_falls: Rate
    default_days: Annotated[Days, Field(ge=1)]


TermsDays = Literal[30, 60, 90]
"""Payment terms the book offers: net 30, 60 or 90 days from the capture."""


class PaymentTerms(Section):
    """Net terms at checkout: which the buyer may choose by grade, and what each costs."""

    default_days: TermsDays
    fee_rates: dict[TermsDays, Rate]
    allowed_days: dict[Grade, tuple[TermsDays, ...]]
    ungraded_days: tuple[TermsDays, ...]
    fee_payer: Literal["merchant", "buyer"]


class LateFee(Section):
    """The late fee dunning adds once to a receivable at ``at_days`` past due."""

    at_days: Annotated[Days, Field(ge=1)]
    flat_minor: Money
    monthly_rate: Rate


class Dunning(Section):
    """Reminders, late fee, freeze, default and charge-off, by days past due."""

    reminder_days: tuple[Annotated[int, Field(strict=True, ge=-30, le=365)], ...]
    late_fee: LateFee
    freeze_days: Annotated[Days, Field(ge=1)]
    default_days: Annotated[Days, Field(ge=1)]
    charge_off_days: Annotated[Days, Field(ge=1)]


class Installments(Section):
    """Splitting a captured amount into equal monthly installments."""

    min_amount_minor: Money
    max_count: dict[Grade, Annotated[int, Field(strict=True, ge=0, le=12)]]
    ungraded_max_count: Annotated[int, Field(strict=True, ge=0, le=12)]
    monthly_fee_rate: Rate
    early_repayment: Literal["refund_unused_fee", "keep_fee"]


class ServicingPolicy(Section):
    """How the book is run after a capture: terms, allocation, dunning and installments."""

    terms: PaymentTerms
    allocation_order: tuple[Literal["late_fee", "fee", "principal"], ...]
    dunning: Dunning
    installments: Installments


class PolicyDocument(Section):
    """The whole policy file, validated; cross-section checks tie every grade to the master scale."""

    version: str = Field(max_length=20)
    description: str = Field(default="", max_length=500)
    master_scale: dict[Grade, Annotated[Decimal, BeforeValidator(_exact_decimal)]]
    credit_line: CreditLinePolicy
    checkout: CheckoutPolicy
    order_financing: OrderFinancingPolicy
    receivables: ReceivablesPolicy
    servicing: ServicingPolicy
    concentration: Concentration
    loans: LoansPolicy

    @field_validator("version")
    @classmethod
    def _version_format(cls, value: str) -> str:
        if not POLICY_VERSION_PATTERN.fullmatch(value):
            raise ValueError(f"must look like 2026-11-22.1 (date of the change, counter); got {value!r}")
        return value

    @field_validator("master_scale")
    @classmethod
    def _scale_increasing(cls, scale: dict[str, Decimal]) -> dict[str, Decimal]:
        bounds = list(scale.values())
        if len(bounds) < 2:
            raise ValueError("must have at least two grades")
        if any(b <= 0 or b > 1 for b in bounds) or any(a >= b for a, b in zip(bounds, bounds[1:])) \
                or bounds[-1] != 1:
            raise ValueError("must map grades, best first, to strictly increasing PD bounds in (0, 1] "
                             f"ending at \"1\"; got {({g: str(b) for g, b in scale.items()})}")
        return scale

    @model_validator(mode="after")
    def _grades_on_the_scale(self) -> PolicyDocument:
        grades = list(self.master_scale)
        problems = []

        def every_grade(key: str, mapping: dict) -> None:
            if list(mapping) != grades:
                problems.append(f"{key} must have exactly the master scale's grades {grades} in that order; "
                                f"got {list(mapping)}")

        def known_grades(key: str, listed: tuple[str, ...] | list[str]) -> None:
            unknown = [g for g in listed if g not in grades]
            if unknown:
                problems.append(f"{key} names grade(s) {unknown} not on the master scale {grades}")

        every_grade("credit_line.limit.grade_caps_minor", self.credit_line.limit.grade_caps_minor)
        known_grades("credit_line.knock_outs.decline_grades", self.credit_line.knock_outs.decline_grades)
        known_grades("credit_line.review.grey_zone_grades", self.credit_line.review.grey_zone_grades)
        known_grades("checkout.too_high_risk_grades", self.checkout.too_high_risk_grades)
        every_grade("order_financing.advance_rates", self.order_financing.advance_rates)
        for buyer_grade, row in self.order_financing.advance_rates.items():
            if buyer_grade in grades:
                every_grade(f"order_financing.advance_rates.{buyer_grade}", row)
        known_grades("receivables.min_debtor_grade", [self.receivables.min_debtor_grade])
        every_grade("receivables.risk_haircuts", self.receivables.risk_haircuts)
        every_grade("receivables.concentration_caps_minor", self.receivables.concentration_caps_minor)
        every_grade("receivables.recourse", self.receivables.recourse)
        every_grade("concentration.per_debtor_minor", self.concentration.per_debtor_minor)
        every_grade("concentration.per_supplier_minor", self.concentration.per_supplier_minor)
        for key in ("amount_share", "fee_rate", "withholding_rate"):
            every_grade(f"loans.{key}", getattr(self.loans, key))
        every_grade("servicing.terms.allowed_days", self.servicing.terms.allowed_days)
        every_grade("servicing.installments.max_count", self.servicing.installments.max_count)
        problems.extend(self.servicing_problems())
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def servicing_problems(self) -> list[str]:
        """What is inconsistent in the servicing section (terms priced and allowed, steps in order)."""
        servicing, problems = self.servicing, []
        terms = servicing.terms
        priced = set(terms.fee_rates)
        offered = {d for days in terms.allowed_days.values() for d in days} | set(terms.ungraded_days)
        offered.add(terms.default_days)
        if offered - priced:
            problems.append(f"servicing.terms.fee_rates must price every term offered; missing {sorted(offered - priced)}")
        for grade, days in terms.allowed_days.items():
            if not days:
                problems.append(f"servicing.terms.allowed_days.{grade} must allow at least one term")
        if sorted(servicing.allocation_order) != ["fee", "late_fee", "principal"]:
            problems.append("servicing.allocation_order must name late_fee, fee and principal once each; "
                            f"got {list(servicing.allocation_order)}")
        dunning = servicing.dunning
        if list(dunning.reminder_days) != sorted(set(dunning.reminder_days)):
            problems.append(f"servicing.dunning.reminder_days must be increasing, without repeats; "
                            f"got {list(dunning.reminder_days)}")
        if not dunning.freeze_days <= dunning.default_days <= dunning.charge_off_days:
            problems.append("servicing.dunning must freeze no later than it defaults, and default no later than it "
                            f"charges off; got freeze {dunning.freeze_days}, default {dunning.default_days}, "
                            f"charge-off {dunning.charge_off_days}")
        return problems
