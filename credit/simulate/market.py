"""Member firms, the buyer-supplier network and the monthly order flow of the simulation.

Everything is vectorised over firms and orders. Times are int64 microseconds since the Unix
epoch (UTC), with :data:`NO_TIME` for a status that has not happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from credit.store.tables import ALLOWED_VALUES

SECOND = 1_000_000
DAY = 86_400 * SECOND
NO_TIME = np.iinfo(np.int64).max
"""Sentinel of a timestamp that is null (not happened, or censored at the end)."""

ROLES = ALLOWED_VALUES["role"]
INDUSTRIES = ALLOWED_VALUES["industry"]
REGIONS = ALLOWED_VALUES["region"]
SIZE_BANDS = ALLOWED_VALUES["size_band"]
CATEGORIES = ALLOWED_VALUES["category"]
PAYMENT_TERMS = ALLOWED_VALUES["payment_terms"]

ROLE_SHARES = (0.45, 0.20, 0.35)
INDUSTRY_SHARES = (0.15, 0.15, 0.13, 0.12, 0.10, 0.10, 0.08, 0.17)
REGION_SHARES = (0.2, 0.2, 0.2, 0.2, 0.2)
SIZE_SHARES = (0.40, 0.35, 0.20, 0.05)
MAIN_CATEGORY_OF_INDUSTRY = {
    "machinery": "parts", "construction": "materials", "automotive": "parts", "electronics": "electrical",
    "food_processing": "packaging", "chemicals": "chemicals", "textiles": "materials", "wholesale": "tools",
}
# Median trading deposit of a supplier by size band, minor units.
DEPOSIT_MEDIAN = np.array([100_000, 500_000, 2_000_000, 10_000_000])
# Relative monthly order rate of a buyer by size band (share-weighted mean 1).
ORDER_RATE_BY_SIZE = np.array([0.45, 0.85, 1.7, 3.6])
# Median order value by buyer size band, minor units, and multiplier by category.
ORDER_VALUE_MEDIAN = np.array([60_000, 150_000, 400_000, 1_000_000])
CATEGORY_VALUE = np.array([1.0, 0.8, 1.5, 0.6, 1.2, 1.1])
# Order seasonality by calendar month: Q4 peak, August dip.
SEASONALITY = np.array([0.95, 0.95, 1.05, 1.0, 1.0, 1.0, 0.95, 0.75, 1.05, 1.15, 1.2, 1.1])
# Share of a buyer's orders that go to its preferred suppliers.
PREFERRED_SHARE = 0.8
TERMS_MIX = {"net30": 0.55, "net60": 0.2, "net90": 0.08, "credit": 0.17}

NAME_PREFIXES = (
    "Northgate", "Riverside", "Oakridge", "Summit", "Harbour", "Ironbridge", "Westfield", "Eastbrook",
    "Highland", "Meridian", "Silverline", "Redstone", "Greenfield", "Bluewater", "Kingsway", "Stonehill",
    "Ashford", "Brightwater", "Crestview", "Fairmont", "Goldcrest", "Lakeshore", "Millbrook", "Pinecrest",
    "Sterling", "Thornbury", "Valley", "Whitmore", "Apex", "Beacon", "Cobalt", "Delta", "Evergreen",
    "Falcon", "Granite", "Horizon", "Keystone", "Liberty", "Orion", "Pioneer",
)
NAME_TRADES = {
    "machinery": ("Machine Works", "Engineering", "Hydraulics", "Gearing", "Tooling"),
    "construction": ("Builders", "Construction", "Concrete", "Scaffolding", "Roofing"),
    "automotive": ("Auto Parts", "Motors", "Fasteners", "Coachworks", "Drivetrain"),
    "electronics": ("Electronics", "Circuits", "Components", "Controls", "Semiconductors"),
    "food_processing": ("Foods", "Bakeries", "Dairy", "Packers", "Provisions"),
    "chemicals": ("Chemicals", "Coatings", "Polymers", "Solvents", "Adhesives"),
    "textiles": ("Textiles", "Weaving", "Fabrics", "Apparel", "Yarns"),
    "wholesale": ("Trading", "Distribution", "Supplies", "Wholesale", "Merchants"),
}
NAME_SUFFIXES = ("Ltd", "Ltd", "Ltd", "Group", "& Co", "Industries", "Holdings", "LLP")


def timestamp_us(day: date) -> int:
    """Microseconds since the epoch of midnight UTC at the start of ``day``."""
    return int((datetime(day.year, day.month, day.day) - datetime(1970, 1, 1)).total_seconds()) * SECOND


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months (the day clamped to the month's length)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = [31, 29 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 28,
            31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month]
    return date(year, month + 1, min(day.day, last))


def random_times(rng: np.random.Generator, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Uniform times in ``[low, high)``, whole seconds."""
    span_seconds = np.maximum((high - low) // SECOND, 1)
    return low + (rng.random(len(low)) * span_seconds).astype(np.int64) * SECOND


def random_days(rng: np.random.Generator, low: float, high: float, size: int) -> np.ndarray:
    """Uniform durations of ``low`` to ``high`` days, whole seconds."""
    return (rng.uniform(low, high, size) * 86_400).astype(np.int64) * SECOND


@dataclass
class FirmBook:
    """The member firms, one array element per firm; index ``i`` is ``firm_id - 1``."""

    firm_id: np.ndarray
    name: pa.Array
    role: np.ndarray
    industry: np.ndarray
    region: np.ndarray
    size: np.ndarray
    registered_at: np.ndarray
    verified: np.ndarray
    deposit: np.ndarray
    main_category: np.ndarray
    popularity: np.ndarray
    mu: np.ndarray

    @property
    def buys(self) -> np.ndarray:
        return self.role != ROLES.index("supplier")

    @property
    def supplies(self) -> np.ndarray:
        return self.role != ROLES.index("buyer")

    def __len__(self) -> int:
        return len(self.firm_id)


def generate_firms(n: int, start: date, end_us: int, size_effect, rng: np.random.Generator) -> FirmBook:
    """Draw ``n`` member firms, numbered in order of registration.

    Parameters
    ----------
    n : int
    start : date
        First day of the simulated period.
    end_us : int
        Its end (microseconds since the epoch, exclusive); about 80% of the firms registered
        in the three years before ``start``, the rest join uniformly during the period.
    size_effect : sequence of float
        Shift of the long-run quality by size band.
    rng : numpy.random.Generator

    Returns
    -------
    FirmBook
    """
    role = rng.choice(len(ROLES), n, p=ROLE_SHARES).astype(np.int8)
    industry = rng.choice(len(INDUSTRIES), n, p=INDUSTRY_SHARES).astype(np.int8)
    region = rng.choice(len(REGIONS), n, p=REGION_SHARES).astype(np.int8)
    size = rng.choice(len(SIZE_BANDS), n, p=SIZE_SHARES).astype(np.int8)
    mu = rng.normal(0.0, 1.0, n) + np.asarray(size_effect)[size]

    start_us = timestamp_us(start)
    early_us = timestamp_us(add_months(start, -36))
    joins_later = rng.random(n) < 0.2
    registered_at = np.where(
        joins_later,
        random_times(rng, np.full(n, start_us), np.full(n, end_us)),
        random_times(rng, np.full(n, early_us), np.full(n, start_us)),
    )

    # Verification is a weak signal of quality: larger and better firms get their licence checked.
    verified = rng.random(n) < 1 / (1 + np.exp(-(-0.4 + 0.6 * size + 0.3 * mu)))
    supplies = role != ROLES.index("buyer")
    deposit_units = DEPOSIT_MEDIAN[size] / 100 * np.exp(rng.normal(0.0, 0.5, n))
    deposit = np.where(supplies, np.round(deposit_units).astype(np.int64) * 100, 0).astype(np.int64)

    favoured = np.array([CATEGORIES.index(MAIN_CATEGORY_OF_INDUSTRY[i]) for i in INDUSTRIES])[industry]
    main_category = np.where(rng.random(n) < 0.5, favoured, rng.integers(0, len(CATEGORIES), n)).astype(np.int8)
    # Heavy-tailed supplier popularity drives preferential attachment in the network.
    popularity = np.where(supplies, (rng.pareto(1.8, n) + 1.0) * np.array([0.5, 1.0, 2.0, 4.0])[size], 0.0)

    prefix = rng.integers(0, len(NAME_PREFIXES), n)
    trade = rng.integers(0, 5, n)
    suffix = rng.integers(0, len(NAME_SUFFIXES), n)
    trades = pa.array([t for i in INDUSTRIES for t in NAME_TRADES[i]])
    name = pc.binary_join_element_wise(
        pa.array(NAME_PREFIXES).take(pa.array(prefix)),
        trades.take(pa.array(industry.astype(np.int64) * 5 + trade)),
        pa.array(NAME_SUFFIXES).take(pa.array(suffix)),
        " ",
    )

    order = np.argsort(registered_at, kind="stable")
    return FirmBook(
        firm_id=np.arange(1, n + 1, dtype=np.int64),
        name=name.take(pa.array(order)),
        role=role[order], industry=industry[order], region=region[order], size=size[order],
        registered_at=registered_at[order], verified=verified[order], deposit=deposit[order],
        main_category=main_category[order], popularity=popularity[order], mu=mu[order],
    )


@dataclass
class SupplierNetwork:
    """Each buyer's preferred suppliers in CSR layout: ``suppliers[start[i]:start[i+1]]``."""

    start: np.ndarray
    suppliers: np.ndarray

    @property
    def degree(self) -> np.ndarray:
        return np.diff(self.start)


def _weighted_pick(rng, candidates: np.ndarray, cumulative_weight: np.ndarray, exclude: np.ndarray) -> np.ndarray:
    """Popularity-weighted candidates, one per element of ``exclude`` and never equal to it."""
    position = np.searchsorted(cumulative_weight, rng.random(len(exclude)) * cumulative_weight[-1], side="right")
    position = np.minimum(position, len(candidates) - 1)
    picked = candidates[position]
    clash = picked == exclude
    # A firm never trades with itself: take the next candidate instead.
    picked[clash] = candidates[(position[clash] + 1) % len(candidates)]
    return picked


def build_network(firms: FirmBook, rng: np.random.Generator) -> SupplierNetwork:
    """Draw every buyer's preferred-supplier set by preferential attachment.

    Set sizes are heavy-tailed (Lomax) and grow with the buyer's size; members are drawn with
    probability proportional to supplier popularity, so a few suppliers serve many buyers.
    """
    n = len(firms)
    degree = np.ceil((rng.pareto(1.5, n) + 1.0) * np.array([1.0, 1.5, 2.5, 4.0])[firms.size]).astype(np.int64)
    degree = np.where(firms.buys, np.minimum(degree, 50), 0)
    start = np.concatenate([[0], np.cumsum(degree)])
    candidates = np.flatnonzero(firms.supplies)
    owner = np.repeat(np.arange(n), degree)
    suppliers = _weighted_pick(rng, candidates, np.cumsum(firms.popularity[candidates]), owner)
    return SupplierNetwork(start=start, suppliers=suppliers)


@dataclass
class MonthContext:
    """What the order flow of one month depends on."""

    start_us: int
    end_us: int
    calendar_month: int
    horizon_end_us: int
    credit_index: np.ndarray
    industry_factor: np.ndarray  # by firm
    distressed_at: np.ndarray  # NO_TIME when healthy
    event_at: np.ndarray  # scheduled first credit event, NO_TIME when none


def place_orders(firms: FirmBook, network: SupplierNetwork, month: MonthContext, rate: float,
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Orders of one month with their full status timeline, sorted by creation time.

    Parameters
    ----------
    firms : FirmBook
    network : SupplierNetwork
    month : MonthContext
    rate : float
        Mean monthly orders of an average buyer.
    rng : numpy.random.Generator

    Returns
    -------
    dict of ndarray
        ``buyer``/``supplier`` firm indices, ``created_at``, ``amount``, ``category``,
        ``terms`` codes and ``confirmed_at``/``shipped_at``/``delivered_at``/``cancelled_at``
        (NO_TIME when null). Timestamps at or after the end of the simulation are null.
    """
    x = month.credit_index
    distressed = month.distressed_at < month.end_us
    window_start = np.maximum(month.start_us, firms.registered_at)
    window_end = np.minimum(month.end_us, month.event_at)
    active = firms.buys & (window_end > window_start)
    share_of_month = np.where(active, (window_end - window_start) / (month.end_us - month.start_us), 0.0)
    expected = (
        rate * ORDER_RATE_BY_SIZE[firms.size] * SEASONALITY[month.calendar_month - 1]
        * np.exp(0.25 * x + 0.3 * month.industry_factor) * np.where(distressed, 0.5, 1.0) * share_of_month
    )
    count = rng.poisson(expected)
    buyer = np.repeat(np.arange(len(firms)), count)
    n = len(buyer)
    created = random_times(rng, window_start[buyer], window_end[buyer])

    eligible_supplier = firms.supplies & (firms.registered_at < month.start_us) & (month.event_at > month.start_us)
    candidates = np.flatnonzero(eligible_supplier)
    if n == 0 or len(candidates) < 2:
        return _no_orders()
    degree = network.degree[buyer]
    preferred = network.suppliers[np.minimum(
        network.start[buyer] + (rng.random(n) * degree).astype(np.int64), len(network.suppliers) - 1)]
    use_preferred = (rng.random(n) < PREFERRED_SHARE) & (degree > 0) & eligible_supplier[preferred]
    supplier = np.where(use_preferred, preferred, -1)
    random_pick = ~use_preferred
    supplier[random_pick] = _weighted_pick(
        rng, candidates, np.cumsum(firms.popularity[candidates]), buyer[random_pick])

    category = np.where(rng.random(n) < 0.85, firms.main_category[supplier],
                        rng.integers(0, len(CATEGORIES), n)).astype(np.int8)
    median = ORDER_VALUE_MEDIAN[firms.size[buyer]] * CATEGORY_VALUE[category]
    amount = np.maximum(np.round(median * np.exp(rng.normal(0.0, 0.9, n))), 100).astype(np.int64)

    xb, xs = x[buyer], x[supplier]
    new_buyer = created - firms.registered_at[buyer] < 180 * DAY
    prepaid_logit = -2.2 + 1.2 * new_buyer + 0.8 * ~firms.verified[buyer] - 0.6 * xb
    prepaid = rng.random(n) < 1 / (1 + np.exp(-prepaid_logit))
    terms_on_credit = rng.choice(
        [PAYMENT_TERMS.index(t) for t in TERMS_MIX], n, p=list(TERMS_MIX.values()))
    terms = np.where(prepaid, PAYMENT_TERMS.index("prepaid"), terms_on_credit).astype(np.int8)

    supplier_distressed = month.distressed_at[supplier] <= created
    confirmed = created + random_days(rng, 0, 2, n)
    lead_median = 3.0 * np.exp(-0.25 * xs) * np.where(supplier_distressed, 2.0, 1.0)
    lead = np.minimum(lead_median * np.exp(rng.normal(0.0, 0.5, n)), 60.0)
    shipped = confirmed + (lead * 86_400).astype(np.int64) * SECOND
    delivered = shipped + random_days(rng, 1, 7, n)

    cancel_p = np.clip(0.025 * np.exp(-0.35 * xs) + np.where(supplier_distressed, 0.15, 0.0), 0, 0.5)
    cancelled_flag = rng.random(n) < cancel_p
    before_confirmation = rng.random(n) < 0.5
    cancelled = np.where(
        before_confirmation,
        created + ((confirmed - created) // SECOND * rng.random(n)).astype(np.int64) * SECOND,
        confirmed + ((shipped - confirmed) // SECOND * rng.random(n)).astype(np.int64) * SECOND,
    )
    # A supplier stops fulfilling at its credit event: what has not shipped by then is cancelled.
    supplier_event = month.event_at[supplier]
    stopped = supplier_event <= shipped
    cancelled = np.where(stopped & (~cancelled_flag | (supplier_event < cancelled)),
                         np.maximum(supplier_event, created), cancelled)
    cancelled_flag |= stopped
    cancelled = np.where(cancelled_flag, cancelled, NO_TIME)
    confirmed = np.where(cancelled_flag & (cancelled < confirmed), NO_TIME, confirmed)
    shipped = np.where(cancelled_flag, NO_TIME, shipped)
    delivered = np.where(cancelled_flag, NO_TIME, delivered)

    end = month.horizon_end_us
    orders = {
        "buyer": buyer, "supplier": supplier, "created_at": created, "amount": amount,
        "category": category, "terms": terms,
        "confirmed_at": np.where(confirmed < end, confirmed, NO_TIME),
        "shipped_at": np.where(shipped < end, shipped, NO_TIME),
        "delivered_at": np.where(delivered < end, delivered, NO_TIME),
        "cancelled_at": np.where(cancelled < end, cancelled, NO_TIME),
    }
    by_time = np.argsort(created, kind="stable")
    return {key: value[by_time] for key, value in orders.items()}


def _no_orders() -> dict[str, np.ndarray]:
    empty_time = np.zeros(0, dtype=np.int64)
    return {
        "buyer": np.zeros(0, np.int64), "supplier": np.zeros(0, np.int64), "created_at": empty_time,
        "amount": np.zeros(0, np.int64), "category": np.zeros(0, np.int8), "terms": np.zeros(0, np.int8),
        "confirmed_at": empty_time, "shipped_at": empty_time, "delivered_at": empty_time, "cancelled_at": empty_time,
    }
