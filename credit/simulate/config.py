"""Parameters of a simulated marketplace: size, horizon, seed, scheduled shocks and output."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime

from credit.store.tables import ALLOWED_VALUES

FILE_FORMATS: tuple[str, ...] = ("parquet", "csv")


def _require_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}; got {value!r}.")


@dataclass(frozen=True)
class IndustryShock:
    """A scheduled downturn of one industry.

    The industry factor is lowered by ``depth`` for ``months`` calendar months from the
    month containing ``start``, then recovers geometrically: the remaining depth halves
    every month (``RECOVERY_RATE``).

    Parameters
    ----------
    industry : str
        One of ``ALLOWED_VALUES["industry"]``.
    start : date
        First day of the shock; the shock starts with the simulated month containing it.
    months : int
        Number of months at full depth, >= 1.
    depth : float
        Amount subtracted from the industry factor, in credit-index units (> 0; 1.0 is a
        severe downturn, about two standard deviations of the industry factor).

    Raises
    ------
    ValueError
        If the industry is unknown or a number is out of range.
    """

    industry: str
    start: date
    months: int = 6
    depth: float = 1.0

    RECOVERY_RATE = 0.5

    def __post_init__(self) -> None:
        allowed = ALLOWED_VALUES["industry"]
        if self.industry not in allowed:
            raise ValueError(
                f"`industry` of a shock must be one of {', '.join(allowed)}; got {self.industry!r}."
            )
        if not isinstance(self.start, date):
            raise ValueError(f"`start` of a shock must be a date; got {self.start!r}.")
        _require_int("months", self.months, 1)
        if isinstance(self.depth, bool) or not isinstance(self.depth, (int, float)) or not 0 < self.depth <= 5:
            raise ValueError(f"`depth` of a shock must be a number in (0, 5]; got {self.depth!r}.")


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate and how to write it.

    Parameters
    ----------
    firms : int
        Number of member firms, >= 10. About 80% are registered before ``start``, the rest
        join during the simulation.
    years : int
        Length of the simulation in years (12 monthly steps each), 1 to 20.
    seed : int
        Seed of the random generator, >= 0; the same configuration gives byte-identical history
        and truth files (the manifest also records how long the run took).
    start : date
        First day of the simulated history (the end is ``start`` plus ``years`` years; no
        timestamp in the output is at or after the end).
    ends_at : datetime, optional
        Observe the history at this instant (naive UTC) inside its last month instead of at
        the month's end: nothing that happens at or after it is written (no order, firm,
        invoice, payment, return, dispute, credit event or status change), as though the
        marketplace were read at that moment. The demo passes "now" so its history never
        holds the future. The last month's ground truth (due at its end) is not written.
    shocks : tuple of IndustryShock
        Scheduled industry downturns.
    file_format : {"parquet", "csv"}
        Format of the observable tables; ground truth is always Parquet.
    orders_per_buyer_month : float
        Mean monthly orders of an average buyer before seasonality and credit effects; the
        default gives about 10 million orders for 50,000 firms over 3 years.

    Raises
    ------
    ValueError
        If a parameter is out of range, with a message naming it.
    """

    firms: int = 1000
    years: int = 3
    seed: int = 0
    start: date = date(2023, 1, 1)
    ends_at: datetime | None = None
    shocks: tuple[IndustryShock, ...] = field(default_factory=tuple)
    file_format: str = "parquet"
    orders_per_buyer_month: float = 6.8

    def __post_init__(self) -> None:
        _require_int("firms", self.firms, 10)
        _require_int("years", self.years, 1)
        if self.years > 20:
            raise ValueError(f"`years` must be an integer <= 20; got {self.years!r}.")
        _require_int("seed", self.seed, 0)
        if not isinstance(self.start, date) or hasattr(self.start, "hour"):
            raise ValueError(f"`start` must be a datetime.date; got {self.start!r}.")
        if self.ends_at is not None:
            last_month, end = self.month_start(self.months - 1), self.month_start(self.months)
            if not isinstance(self.ends_at, datetime) or self.ends_at.tzinfo is not None \
                    or not datetime.combine(last_month, datetime.min.time()) <= self.ends_at \
                    <= datetime.combine(end, datetime.min.time()):
                raise ValueError(f"`ends_at` must be a naive UTC datetime inside the last simulated month, from "
                                 f"{last_month.isoformat()} 00:00 to {end.isoformat()} 00:00; "
                                 f"got {self.ends_at!r}.")
        if self.file_format not in FILE_FORMATS:
            raise ValueError(f"`file_format` must be one of {', '.join(FILE_FORMATS)}; got {self.file_format!r}.")
        rate = self.orders_per_buyer_month
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 1000:
            raise ValueError(f"`orders_per_buyer_month` must be a number in (0, 1000]; got {rate!r}.")
        shocks = tuple(self.shocks)
        for shock in shocks:
            if not isinstance(shock, IndustryShock):
                raise ValueError(f"`shocks` must hold IndustryShock values; got {shock!r}.")
        object.__setattr__(self, "shocks", shocks)

    @property
    def months(self) -> int:
        """Number of simulated months."""
        return 12 * self.years

    def month_start(self, k: int) -> date:
        """First day of simulated month ``k`` (0 starts at ``start``; ``months`` is the end)."""
        index = self.start.year * 12 + self.start.month - 1 + k
        year, month = divmod(index, 12)
        return date(year, month + 1, min(self.start.day, calendar.monthrange(year, month + 1)[1]))

    def as_dict(self) -> dict:
        """The configuration as JSON-ready values (dates in ISO format)."""
        return {
            "firms": self.firms,
            "years": self.years,
            "seed": self.seed,
            "start": self.start.isoformat(),
            "ends_at": self.ends_at.isoformat() if self.ends_at is not None else None,
            "shocks": [
                {"industry": s.industry, "start": s.start.isoformat(), "months": s.months, "depth": s.depth}
                for s in self.shocks
            ],
            "file_format": self.file_format,
            "orders_per_buyer_month": self.orders_per_buyer_month,
        }
