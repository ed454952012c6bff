"""Probabilities as the service states them: decimal strings of 6 places (``"0.011789"``).

The API (``api.kit.contract.Probability``) and the events write PDs the same way, so a PD read
from a webhook equals the one the API answered.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

PD_PLACES = 6
_QUANTUM = Decimal(1).scaleb(-PD_PLACES)


def pd_text(value: Decimal | float | str) -> str:
    """``value`` rounded half-even to 6 places, as text."""
    return str(Decimal(str(value)).quantize(_QUANTUM, rounding=ROUND_HALF_EVEN))
