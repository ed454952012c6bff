"""Money arithmetic of decisions: amounts in integer minor units, rates as exact decimals."""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from credit.policy.document import FeeFormula

DAYS_PER_YEAR = Decimal(365)
FEE_RATE_PLACES = Decimal("0.000001")
"""Fee rates are rounded (half up) to six decimals, so the rate quoted is the rate charged."""


def floor_minor(amount: Decimal) -> int:
    """Whole minor units at or below ``amount``: an advance or limit is never rounded up."""
    return int(amount.to_integral_value(rounding=ROUND_FLOOR))


def round_down_to_unit(amount_minor: int, unit_minor: int) -> int:
    """``amount_minor`` rounded down to a multiple of ``unit_minor``."""
    return amount_minor - amount_minor % unit_minor


def fee_rate(pd: Decimal, tenor_days: int, fee: FeeFormula) -> tuple[Decimal, bool]:
    """Fee as a share of the advance: expected loss over the tenor plus margin, with a floor.

    ``max(min_fee_rate, (PD x LGD + annual_margin) x tenor_days / 365)``, rounded half up to
    six decimals. PD is a 12-month probability, scaled to the tenor like the margin.

    Returns
    -------
    rate : Decimal
    at_floor : bool
        True when the floor set the rate.
    """
    priced = ((pd * fee.loss_given_default + fee.annual_margin) * tenor_days / DAYS_PER_YEAR)
    priced = priced.quantize(FEE_RATE_PLACES, rounding=ROUND_HALF_UP)
    if priced < fee.min_fee_rate:
        return fee.min_fee_rate, True
    return priced, False


def annual_rate(pd: Decimal, fee: FeeFormula) -> Decimal:
    """The yearly rate a fee accrues at per day outstanding: ``PD x LGD + annual_margin``, six decimals half up."""
    return (pd * fee.loss_given_default + fee.annual_margin).quantize(FEE_RATE_PLACES, rounding=ROUND_HALF_UP)


def fee_minor(advance_minor: int, rate: Decimal) -> int:
    """The fee in minor units, rounded half up."""
    return int((advance_minor * rate).to_integral_value(rounding=ROUND_HALF_UP))
