"""What every decision carries besides its amounts: the rules that fired and the codes they give."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from credit.decisions.codes import CHECKOUT_DECLINES, NEXT_ACTIONS, POLICY_REASONS
from credit.models.reasons import REASON_CATALOGUE

Outcome = Literal["approve", "refer", "decline"]
"""approve: granted as returned; refer: waits for the finance team; decline: refused."""

FeatureValue = float | int | bool | str | None


@dataclass(frozen=True)
class RuleFired:
    """One policy rule that applied, in the order the decision applied it.

    Attributes
    ----------
    code : str
        A code of :data:`credit.decisions.codes.POLICY_REASONS` or, for checkout,
        :data:`credit.decisions.codes.CHECKOUT_DECLINES`.
    detail : str
        The numbers behind it, in words ("tenure 120 days < 180").
    """

    code: str
    detail: str

    def __post_init__(self) -> None:
        if self.code not in POLICY_REASONS and self.code not in CHECKOUT_DECLINES:
            raise ValueError(f"rule code {self.code!r} is in neither POLICY_REASONS nor CHECKOUT_DECLINES "
                             "(credit/decisions/codes.py).")


def ordered_reason_codes(rules: Iterable[RuleFired], model_codes: Iterable[str] = ()) -> tuple[str, ...]:
    """Policy codes in the order their rules fired, then the model's codes in their order; no repeats."""
    codes: dict[str, None] = {}
    for rule in rules:
        codes.setdefault(rule.code)
    for code in model_codes:
        if code not in REASON_CATALOGUE:
            raise ValueError(f"model reason code {code!r} is not in REASON_CATALOGUE (credit/models/reasons.py).")
        codes.setdefault(code)
    return tuple(codes)


def ordered_next_actions(actions: Iterable[str]) -> tuple[str, ...]:
    """The next actions in the order given, without repeats; each must be in the catalogue."""
    unique: dict[str, None] = {}
    for action in actions:
        if action not in NEXT_ACTIONS:
            raise ValueError(f"next action {action!r} is not in NEXT_ACTIONS (credit/decisions/codes.py).")
        unique.setdefault(action)
    return tuple(unique)


def as_probability(value: Decimal | float | str, name: str) -> Decimal:
    """A PD as an exact Decimal in [0, 1]; a float is taken at its shortest repr (what JSON stores)."""
    if isinstance(value, bool):
        raise ValueError(f"`{name}` must be a probability in [0, 1]; got {value!r}.")
    pd = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not pd.is_finite() or not 0 <= pd <= 1:
        raise ValueError(f"`{name}` must be a probability in [0, 1]; got {value!r}.")
    return pd


def as_share(value: Decimal | float | str | None, name: str) -> Decimal | None:
    """A non-negative rate as an exact Decimal; None or NaN means no history (None)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        raise ValueError(f"`{name}` must be a number >= 0 or None; got {value!r}.")
    share = Decimal(repr(float(value))) if isinstance(value, float) else Decimal(value)
    if not share.is_finite() or share < 0:
        raise ValueError(f"`{name}` must be a number >= 0 or None; got {value!r}.")
    return share


def plain_features(features: Mapping[str, object]) -> dict[str, FeatureValue]:
    """Feature values as JSON-safe Python scalars: NumPy scalars unwrapped, NaN as None (missing)."""
    plain: dict[str, FeatureValue] = {}
    for name, value in features.items():
        if hasattr(value, "item") and not isinstance(value, (str, bytes)):
            value = value.item()  # NumPy scalar -> Python scalar
        if isinstance(value, float) and math.isnan(value):
            value = None
        if value is not None and not isinstance(value, (bool, int, float, str)):
            raise ValueError(f"feature {name!r} must be a number, a boolean, a string or missing; got {value!r}.")
        if isinstance(value, float) and math.isinf(value):
            raise ValueError(f"feature {name!r} is infinite.")
        plain[str(name)] = value
    return plain


def feature_decimal(features: Mapping[str, FeatureValue], name: str, *, missing: Decimal | None = None) -> Decimal:
    """A numeric feature as a Decimal; ``missing`` stands in for an absent or null value.

    Raises
    ------
    KeyError
        If the feature is missing and no ``missing`` value is given.
    """
    value = features.get(name)
    if value is None:
        if missing is None:
            raise KeyError(f"feature {name!r} is required by the policy and missing from the inputs.")
        return missing
    if isinstance(value, str):
        raise ValueError(f"feature {name!r} must be numeric; got {value!r}.")
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(int(value))
