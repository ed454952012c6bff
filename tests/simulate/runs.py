"""Simulated marketplaces for tests, read back, and the statistics the tests compare."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from credit.simulate import IndustryShock, SimulationConfig, SimulationSummary, simulate
from credit.store.tables import HISTORY_TABLES

START = date(2023, 1, 1)
SHOCK = IndustryShock(industry="construction", start=date(2024, 3, 1), months=9, depth=1.5)


@dataclass
class SimulatedRun:
    """A finished simulation and its files read back."""

    config: SimulationConfig
    summary: SimulationSummary
    out_dir: Path

    @property
    def end(self) -> pd.Timestamp:
        return pd.Timestamp(datetime(self.config.start.year + self.config.years, self.config.start.month,
                                     self.config.start.day))

    def table(self, name: str) -> pd.DataFrame:
        return pq.read_table(self.out_dir / f"{name}.parquet").to_pandas()

    def truth(self, name: str) -> pd.DataFrame:
        return pq.read_table(self.out_dir / "truth" / f"{name}.parquet").to_pandas()

    def first_events(self) -> pd.Series:
        """Time of every firm's first credit event (write-offs follow a default)."""
        events = self.table("credit_events")
        return events[events.kind != "write_off"].groupby("firm_id").occurred_at.min()


def make_config(firms: int = 400, *, seed: int = 11, years: int = 3, **overrides) -> SimulationConfig:
    return SimulationConfig(firms=firms, years=years, seed=seed, start=START, **overrides)


HISTORY_FILES = [f"{name}.parquet" for name in HISTORY_TABLES]


def annual_default_rate(run: SimulatedRun) -> float:
    """First credit events per firm-year at risk (registered, before the first event)."""
    firms = run.table("firms").set_index("firm_id")
    first_at = run.first_events().reindex(firms.index)
    start = pd.Timestamp(run.config.start)
    at_risk_from = firms.registered_at.clip(lower=start)
    at_risk_to = first_at.fillna(run.end)
    years = ((at_risk_to - at_risk_from).dt.total_seconds().clip(lower=0) / (365.25 * 86400)).sum()
    return first_at.notna().sum() / years


def settled_invoices(run: SimulatedRun) -> pd.DataFrame:
    """Fully paid invoices with ``days_past_due`` at their last payment."""
    invoices = run.table("invoices")
    paid = run.table("payments").groupby("invoice_id").agg(paid=("amount_minor", "sum"), settled_at=("paid_at", "max"))
    invoices = invoices.join(paid, on="invoice_id", how="inner")
    invoices = invoices[invoices.paid == invoices.amount_minor].copy()
    invoices["days_past_due"] = (invoices.settled_at - invoices.due_at).dt.total_seconds() / 86400
    return invoices


def market_statistics(run: SimulatedRun) -> dict[str, float]:
    """Statistics that should not depend on the number of firms."""
    settled = settled_invoices(run)
    orders = run.table("orders")
    firms = run.table("firms")
    per_supplier = orders.supplier_id.value_counts()
    suppliers = int((firms.roles != "buyer").sum())
    top_decile = per_supplier.iloc[: max(1, suppliers // 10)].sum() / len(orders)
    per_pair = orders.groupby(["buyer_id", "supplier_id"]).size().sort_values(ascending=False)
    top3 = per_pair.groupby(level="buyer_id").head(3).groupby(level="buyer_id").sum()
    buyer_orders = orders.buyer_id.value_counts()
    return {
        "annual_default_rate": annual_default_rate(run),
        "median_days_past_due": float(settled.days_past_due.median()),
        "p90_days_past_due": float(settled.days_past_due.quantile(0.9)),
        "late_share": float((settled.days_past_due > 1).mean()),
        "top_decile_supplier_share": float(top_decile),
        "top3_supplier_share_median": float((top3 / buyer_orders.reindex(top3.index)).median()),
    }
