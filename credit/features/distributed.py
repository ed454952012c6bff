"""The feature build on a Dask cluster, partitioned by firm, from the same definitions.

The history is first written in firm buckets (:mod:`credit.features.buckets`, once per
history and partition count, on the driver), and each task opens only its own bucket's files
(``firm_id % partitions``: the firms' orders and invoices as either party, and what hangs off
them) and runs :func:`~credit.features.panel.firm_stage`, the same code as a local build.
The driver gathers every firm's overdue and default flags, broadcasts them, and a second
round of tasks computes network features (a firm's partners may live in any partition).
Labels, firmographics and the manifest come from the small tables, on the driver.

On one 2-core machine this is slower than :func:`~credit.features.panel.build_panel`; it is
the path for history that outgrows one machine, and a test keeps its output identical.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import numpy as np

from credit.features.block import FeatureBlock
from credit.features.bucket_layout import is_bucketed
from credit.features.buckets import write_buckets
from credit.features.catalog import MARKETPLACE_FEATURES
from credit.features.definitions import Feature
from credit.features.domain import partner_flags
from credit.features.history import History, HistoryError
from credit.features.labels import DEFAULT_HORIZON_MONTHS
from credit.features.panel import Panel, all_firms, finish, firm_stage, grid_for, network_stage, plan


def _partition_firms(firms: np.ndarray, part: int, partitions: int) -> np.ndarray:
    return firms[firms % partitions == part]


def _firm_task(folder: str, part: int, partitions: int, as_of: list[date], features: list[Feature]) -> FeatureBlock:
    history = History.from_parquet(folder, threads=1, partition=(part, partitions))
    firms = _partition_firms(all_firms(history), part, partitions)
    return firm_stage(history, grid_for(as_of, features), firms, features)


def _network_task(folder: str, part: int, partitions: int, as_of: list[date], features: list[Feature],
                  partners: FeatureBlock) -> FeatureBlock:
    history = History.from_parquet(folder, threads=1, partition=(part, partitions))
    firms = _partition_firms(all_firms(history), part, partitions)
    return network_stage(history, grid_for(as_of, features), firms, partners)


def _gather(futures: list, firms: np.ndarray, dates: list[date]) -> FeatureBlock:  # noqa: ANN001
    """One block over ``firms`` from tasks' blocks over disjoint subsets of them, in the first block's column order.

    Each block is copied in as its task finishes and then let go, so the driver holds the
    whole block and one task's, never every task's at once beside it.
    """
    from distributed import as_completed

    combined = FeatureBlock(firms, dates)
    for future in as_completed(futures):
        block = future.result()
        future.release()
        if not combined.columns:
            for name in block.columns:
                combined.add(name, combined.empty())
        rows = combined.positions(block.firms)
        for name, values in block.columns.items():
            combined.columns[name][rows] = values
        del block
    return combined


def build_panel_dask(history: History, as_of: list[date], workers: int = 2, partitions: int | None = None,
                     horizon_months: int = DEFAULT_HORIZON_MONTHS, features: list[Feature] = MARKETPLACE_FEATURES,
                     client=None) -> Panel:  # noqa: ANN001
    """Build the panel with Dask; same result as :func:`~credit.features.panel.build_panel`.

    Parameters
    ----------
    history
        A history read from a Parquet folder (tasks reopen the folder on the workers).
    workers
        Worker processes of the local cluster started when no ``client`` is given.
    partitions
        Firm partitions (tasks per stage, and firm buckets written beside the history when the
        folder holds none of that count from its current files); default twice the workers.
    client
        An existing ``distributed.Client`` to run on (a real cluster).

    Raises
    ------
    HistoryError
        If ``history`` was not read from a Parquet folder.
    """
    from distributed import Client, LocalCluster

    if history.folder is None:
        raise HistoryError(f"{history.origin}: the Dask build reads a folder of Parquet files, one per table "
                           "(credit features build --history DIR); without --workers it reads the store too")
    started = time.perf_counter()
    grid, history_end = plan(history, as_of, features)
    partitions = partitions or 2 * workers
    folder = str(Path(history.folder).resolve())
    if not is_bucketed(folder, partitions):
        write_buckets(folder, partitions)
    cluster = None
    if client is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        dates = list(grid.dates)
        firms = all_firms(history)
        block = _gather([client.submit(_firm_task, folder, p, partitions, dates, features, pure=False)
                         for p in range(partitions)], firms, grid.dates)
        [partners] = client.scatter([partner_flags(history, grid, block)], broadcast=True)
        block.update(_gather([client.submit(_network_task, folder, p, partitions, dates, features, partners,
                                            pure=False) for p in range(partitions)], firms, grid.dates))
    finally:
        if cluster is not None:
            client.close()
            cluster.close()
    return finish(history, grid, block, features, horizon_months, history_end, started,
                  engine=f"dask ({partitions} firm partitions)")
