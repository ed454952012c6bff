"""Run a simulation month by month and write its history, ground truth and manifest."""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import metadata
from pathlib import Path

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from credit.simulate.config import SimulationConfig
from credit.simulate.latent import LatentParameters, LatentProcess, contagion_hits, shock_paths
from credit.simulate.market import (
    INDUSTRIES, NO_TIME, MonthContext, add_months, build_network, generate_firms, place_orders,
    random_times, timestamp_us,
)
from credit.simulate.settlement import EVENT_KINDS, CreditBook, Settlement
from credit.simulate.writer import SimulationWriter

TRADE_MEMORY_MONTHS = 12


@dataclass
class SimulationSummary:
    """What a simulation produced.

    Attributes
    ----------
    out_dir : Path
    rows : dict of str to int
        Rows written per history table.
    truth_rows : dict of str to int
        Rows written per truth file.
    distressed_firms : int
        Firms that became distressed (some of their credit events may fall after the end).
    defaulted_firms : int
        Firms with a first credit event (``default_90dpd`` or ``insolvency``) before the end.
    annual_default_rate : float
        First credit events per firm-year at risk (registered, not yet defaulted).
    elapsed_seconds : float
    paths : dict of str to Path
        Every file written, truth files as ``truth/<name>``, plus ``manifest``.
    """

    out_dir: Path
    rows: dict[str, int]
    truth_rows: dict[str, int]
    distressed_firms: int
    defaulted_firms: int
    annual_default_rate: float
    elapsed_seconds: float
    paths: dict[str, Path] = field(default_factory=dict)


def _package_version() -> str:
    try:
        return metadata.version("marketplace-credit")
    except metadata.PackageNotFoundError:
        return "unknown"


def simulate(config: SimulationConfig, out_dir: Path,
             progress: Callable[[int, int], None] | None = None) -> SimulationSummary:
    """Simulate a marketplace and write its history and ground truth to ``out_dir``.

    Parameters
    ----------
    config : SimulationConfig
        Size, horizon, seed, shocks and output format (validated on construction).
    out_dir : Path
        Output directory, created if missing. Existing files of the same names are replaced.
    progress : callable, optional
        Called as ``progress(months_done, months_total)`` after every simulated month.

    Returns
    -------
    SimulationSummary
        Also written as ``out_dir/manifest.json`` with the configuration and package version.

    Raises
    ------
    ValueError
        If ``config`` is not a :class:`SimulationConfig`.
    """
    if not isinstance(config, SimulationConfig):
        raise ValueError(f"`config` must be a SimulationConfig; got {type(config).__name__}.")
    began = time.perf_counter()
    out_dir = Path(out_dir)
    params = LatentParameters()
    n, months = config.firms, config.months
    month_starts = [add_months(config.start, k) for k in range(months + 1)]
    bounds = [timestamp_us(day) for day in month_starts]
    # Observed at ``ends_at``: the last month is cut there and nothing at or after it is released.
    end_us = bounds[-1] if config.ends_at is None else _instant_us(config.ends_at)

    firm_seed, network_seed, latent_seed, month_seed, economy_seed = np.random.SeedSequence(config.seed).spawn(5)
    month_rngs = [np.random.default_rng(s) for s in month_seed.spawn(months)]
    firms = generate_firms(n, config.start, end_us, params.size_effect, np.random.default_rng(firm_seed))
    network = build_network(firms, np.random.default_rng(network_seed))
    depth, onset = shock_paths(config.shocks, month_starts[:-1], INDUSTRIES)
    latent = LatentProcess(params, firms.mu, firms.industry.astype(np.int64), firms.buys, depth, onset,
                           len(INDUSTRIES), np.random.default_rng(latent_seed), np.random.default_rng(economy_seed))
    credit = CreditBook(n)
    settlement = Settlement(end_us)
    trade_window: deque[sp.csr_matrix] = deque(maxlen=TRADE_MEMORY_MONTHS)
    next_order_id = next_event_id = 1
    at_risk_firm_months = 0.0
    truth_rows = {"firm_month": 0, "firms": n}

    writer = SimulationWriter(out_dir, config.file_format)
    try:
        writer.write_history("firms", {
            "firm_id": firms.firm_id, "name": firms.name, "roles": firms.role, "industry": firms.industry,
            "region": firms.region, "size_band": firms.size, "registered_at": firms.registered_at,
            "verified": firms.verified, "deposit_minor": firms.deposit,
        })
        for t in range(months):
            rng = month_rngs[t]
            if t > 0:
                latent.step()
            month_start, month_end = bounds[t], min(bounds[t + 1], end_us)
            credit_index = latent.credit_index()

            observed = (month_end - month_start) / (bounds[t + 1] - month_start)  # < 1 in a month cut at ends_at
            at_risk_firm_months += observed * int(np.count_nonzero(
                (firms.registered_at < month_start) & (credit.event_at >= month_start)))
            healthy = (firms.registered_at < month_start) & (credit.distressed_at == NO_TIME)
            newly_distressed = healthy & (rng.random(n) < latent.hazard(credit_index))
            distressed = np.flatnonzero(newly_distressed)
            distressed_at = random_times(rng, np.full(len(distressed), month_start), np.full(len(distressed), month_end))
            credit.distress(distressed, distressed_at,
                            settlement.earliest_unpaid_due(distressed, distressed_at, n), rng)
            if len(distressed) and trade_window:
                latent.add_contagion(contagion_hits(sum(trade_window), newly_distressed, params))

            month = MonthContext(
                start_us=month_start, end_us=bounds[t + 1], calendar_month=month_starts[t].month,
                horizon_end_us=end_us, credit_index=credit_index,
                industry_factor=latent.industry_factor()[firms.industry],
                distressed_at=credit.distressed_at, event_at=credit.event_at,
            )
            orders = place_orders(firms, network, month, config.orders_per_buyer_month, rng)
            if month_end == end_us:  # the last month: orders placed after the history is observed do not exist yet
                orders = {column: values[orders["created_at"] < end_us] for column, values in orders.items()}
            orders["order_id"] = next_order_id + np.arange(len(orders["buyer"]), dtype=np.int64)
            next_order_id += len(orders["buyer"])
            trade_window.append(sp.csr_matrix(
                (orders["amount"].astype(np.float64), (orders["buyer"], orders["supplier"])), shape=(n, n)))
            writer.write_history("orders", {
                "order_id": orders["order_id"], "buyer_id": orders["buyer"] + 1,
                "supplier_id": orders["supplier"] + 1, "created_at": orders["created_at"],
                "amount_minor": orders["amount"], "category": orders["category"],
                "payment_terms": orders["terms"], "confirmed_at": orders["confirmed_at"],
                "shipped_at": orders["shipped_at"], "delivered_at": orders["delivered_at"],
                "cancelled_at": orders["cancelled_at"],
            })

            settlement.plan(orders, credit_index, credit, rng)
            released = settlement.release(month_end, credit.distressed_at)
            _write_settlement(writer, released)
            events = credit.release(month_end)
            event_ids = next_event_id + np.arange(len(events["firm"]), dtype=np.int64)
            next_event_id += len(event_ids)
            writer.write_history("credit_events", {
                "event_id": event_ids, "firm_id": events["firm"] + 1,
                "occurred_at": events["occurred_at"], "kind": events["kind"],
            })
            if t + 1 < months or config.ends_at is None:  # truth is due at a month's end, not inside it
                truth_rows["firm_month"] += _write_firm_month(writer, latent, firms, credit, month_end,
                                                              timestamp_us(add_months(month_starts[t + 1], 12)))
            if progress is not None:
                progress(t + 1, months)

        writer.write_truth("firms", {
            "firm_id": firms.firm_id, "long_run_quality": firms.mu, "supplier_popularity": firms.popularity,
            "preferred_suppliers": network.degree, "distressed_at": credit.distressed_at,
            "credit_event_at": credit.event_at,
            "credit_event_kind": _event_kind_names(credit),
        })
    finally:
        paths = writer.close()

    defaulted = int(np.count_nonzero(credit.event_emitted))
    summary = SimulationSummary(
        out_dir=out_dir,
        rows=writer.row_counts,
        truth_rows=truth_rows,
        distressed_firms=int(np.count_nonzero(credit.distressed_at != NO_TIME)),
        defaulted_firms=defaulted,
        annual_default_rate=defaulted / max(at_risk_firm_months / 12, 1e-9),
        elapsed_seconds=time.perf_counter() - began,
        paths={**paths, "manifest": out_dir / "manifest.json"},
    )
    _write_manifest(config, summary)
    return summary


def _instant_us(at: datetime) -> int:
    """Microseconds since the epoch of a naive UTC ``datetime``."""
    return (at - datetime(1970, 1, 1)) // timedelta(microseconds=1)


def _write_settlement(writer: SimulationWriter, released: dict) -> None:
    invoices = released["invoices"]
    writer.write_history("invoices", {
        "invoice_id": invoices["invoice_id"], "order_id": invoices["order_id"],
        "supplier_id": invoices["supplier"] + 1, "buyer_id": invoices["buyer"] + 1,
        "issued_at": invoices["issued_at"], "due_at": invoices["due_at"], "amount_minor": invoices["amount"],
    })
    payments = released["payments"]
    writer.write_history("payments", {
        "payment_id": payments["payment_id"], "invoice_id": payments["invoice_id"],
        "paid_at": payments["paid_at"], "amount_minor": payments["amount"],
    })
    returns = released["returns"]
    writer.write_history("returns", {
        "return_id": returns["return_id"], "order_id": returns["order_id"], "invoice_id": returns["invoice_id"],
        "returned_at": returns["returned_at"], "amount_minor": returns["amount"], "reason": returns["reason"],
    })
    disputes = released["disputes"]
    writer.write_history("disputes", {
        "dispute_id": disputes["dispute_id"], "order_id": disputes["order_id"],
        "invoice_id": disputes["invoice_id"], "opened_at": disputes["opened_at"],
        "amount_minor": disputes["amount"], "reason": disputes["reason"],
        "resolution": disputes["resolution"], "resolved_at": disputes["resolved_at"],
    })


def _write_firm_month(writer, latent: LatentProcess, firms, credit: CreditBook, month_end: int,
                      horizon_end: int) -> int:
    """Truth rows of every firm registered and not yet defaulted at ``month_end``."""
    rows = np.flatnonzero((firms.registered_at < month_end) & (credit.event_at >= month_end))
    distressed = credit.distressed_at < month_end
    pd_12m = np.where(distressed, (credit.event_at <= horizon_end).astype(np.float64), latent.pd_12m())
    credit_index = latent.credit_index()
    writer.write_truth("firm_month", {
        "firm_id": firms.firm_id[rows],
        "month_end": np.full(len(rows), month_end, dtype=np.int64),
        "idiosyncratic": latent.z[rows],
        "industry_factor": latent.industry_factor()[latent.industry[rows]],
        "macro_factor": np.full(len(rows), latent.macro),
        "contagion": latent.contagion[rows],
        "credit_index": credit_index[rows],
        "monthly_hazard": latent.hazard(credit_index[rows]),
        "distressed": distressed[rows],
        "pd_12m": pd_12m[rows],
    })
    return len(rows)


def _event_kind_names(credit: CreditBook) -> pa.Array:
    scheduled = credit.event_at != NO_TIME
    names = np.array(EVENT_KINDS, dtype=object)[credit.event_kind]
    return pa.array(np.where(scheduled, names, None), type=pa.string())


def _write_manifest(config: SimulationConfig, summary: SimulationSummary) -> None:
    manifest = {
        "package": "marketplace-credit",
        "package_version": _package_version(),
        "config": config.as_dict(),
        "seed": config.seed,
        "rows": summary.rows,
        "truth_rows": summary.truth_rows,
        "distressed_firms": summary.distressed_firms,
        "defaulted_firms": summary.defaulted_firms,
        "annual_default_rate": summary.annual_default_rate,
        "elapsed_seconds": round(summary.elapsed_seconds, 3),
        "files": {name: str(path.relative_to(summary.out_dir)) for name, path in summary.paths.items()},
    }
    (summary.out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
