"""Risk grades for a table an analyst brings: from the table's own PDs, or a scale the analyst passes.

The marketplace's master scale (credit/policy/policy.yaml) is cut for firms whose PDs run from
a fraction of a percent to a few percent; on a table with a bad rate of 28% it puts most rows in
its last grade. A table's report grades instead on a :class:`PdScale`:

* by default :func:`quantile_scale`: :data:`QUANTILE_GRADES` (7) grades, A (safest) to G, cut at
  the 1/7, 2/7, ... 6/7 quantiles of the PDs the report evaluates (the out-of-fold PDs in
  cross-validation, the test window's out of time), all candidates' PDs pooled so a grade
  means the same PD range for every candidate; tied quantiles merge grades;
* or :func:`parse_scale`: the PD upper bounds the analyst gives (``credit train --scale``).

A grade holds PDs above the bound of the grade before it, up to and including its own (so rows
tied at a quantile share a grade); the last grade's bound is 1.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the CLI checks --scale before the report's heavy imports load
    from credit.models.report import EvaluatedModel

QUANTILE_GRADES = 7


@dataclass(frozen=True)
class PdScale:
    """Grades A, B, ... and the PD each runs up to (the last bound is 1); ``rule`` says where they came from."""

    bounds: tuple[float, ...]
    rule: str

    @property
    def grades(self) -> list[str]:
        return list(string.ascii_uppercase[:len(self.bounds)])

    def grades_of(self, pds) -> np.ndarray:  # noqa: ANN001
        """The grade of each PD."""
        index = np.searchsorted(np.asarray(self.bounds[:-1]), np.asarray(pds, dtype=float), side="left")
        return np.asarray(self.grades, dtype=object)[index]

    def describe(self) -> str:
        """The rule and each grade's PD range, for the report."""
        edges = [0.0, *self.bounds]
        ranges = "; ".join(f"{grade} {'[' if i == 0 else '('}{_percent(low)}, {_percent(high)}]"
                           for i, (grade, low, high) in enumerate(zip(self.grades, edges[:-1], edges[1:], strict=True)))
        return f"{self.rule}: {ranges}"


def quantile_scale(pds: Sequence[np.ndarray], grades: int = QUANTILE_GRADES) -> PdScale:
    """``grades`` grades at the quantiles of the pooled PDs (fewer where quantiles tie)."""
    pooled = np.concatenate([np.asarray(p, dtype=float) for p in pds])
    cuts = np.unique(np.quantile(pooled, np.arange(1, grades) / grades))
    cuts = cuts[cuts < 1]
    return PdScale((*map(float, cuts), 1.0),
                   f"{len(cuts) + 1} grades at the quantiles of the evaluated PDs of every candidate, pooled")


def parse_scale(text: str) -> PdScale:
    """A scale from PD upper bounds written ``0.02,0.05,0.1``: A up to 2% included, ..., D above 10%.

    Raises
    ------
    ValueError
        If a bound is not a number in (0, 1), the bounds do not increase, or there are more than 25.
    """
    parts = [part.strip() for part in text.split(",")]
    try:
        bounds = [float(part) for part in parts]
    except ValueError:
        raise ValueError(f"--scale {text!r}: give PD upper bounds as numbers separated by commas, "
                         "e.g. --scale 0.02,0.05,0.1") from None
    if not all(0 < b < 1 for b in bounds) or any(b >= c for b, c in zip(bounds, bounds[1:])):
        raise ValueError(f"--scale {text!r}: the PD upper bounds must increase and lie between 0 and 1, "
                         "e.g. --scale 0.02,0.05,0.1")
    if len(bounds) > len(string.ascii_uppercase) - 1:
        raise ValueError(f"--scale {text!r}: at most {len(string.ascii_uppercase) - 1} bounds (grades A to Z)")
    return PdScale((*bounds, 1.0), f"{len(bounds) + 1} grades on the analyst's scale (--scale {text})")


def graded_on(evaluated: list[EvaluatedModel], scale: PdScale) -> list[EvaluatedModel]:
    """The models with each evaluated row's grade on ``scale``, for the report."""
    return [replace(m, grades=scale.grades_of(m.pd_test), grade_order=scale.grades) for m in evaluated]


def _percent(pd_value: float) -> str:
    return f"{pd_value * 100:.3g}%"
