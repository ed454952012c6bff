"""The Parquet history rewritten bucketed by firm, so a Dask task reads only its own files.

Bucket ``p`` of ``count`` holds what the firms with ``firm_id % count == p`` need: their orders
and invoices as either party, and the payments, returns and disputes on those. An order between
a buyer in bucket 1 and a supplier in bucket 3 is written to both buckets (stored twice); one
whose parties share a bucket, once. ``firms`` and ``credit_events`` are small and stay whole
at the top of the history folder. Where the buckets go, and when they are current, is
:mod:`credit.features.bucket_layout`.

Each table is written in one DuckDB pass (``COPY ... PARTITION_BY``) under DuckDB's memory
limit; buckets are rewritten when a source file has changed since.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from credit.features.bucket_layout import BUCKETED, bucket_folder, sources
from credit.features.history import HistoryError, _connect, _quote
from credit.store.frames import HISTORY


def write_buckets(folder: Path | str, count: int, threads: int | None = None) -> Path:
    """Write the history in ``folder`` as ``count`` firm buckets (replacing older ones); returns their folder.

    Raises
    ------
    HistoryError
        If ``count`` is not positive or a table file is missing.
    """
    folder = Path(folder)
    if int(count) < 1:
        raise HistoryError(f"{folder}: the number of firm buckets must be at least 1; got {count}")
    for name in BUCKETED:
        if not (folder / f"{name}.parquet").is_file():
            raise HistoryError(f"{folder / f'{name}.parquet'}: missing; a history folder holds one Parquet file "
                               f"per table ({', '.join(HISTORY)})")
    out = bucket_folder(folder, count)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    connection = _connect(threads)

    def source(name: str) -> str:
        return f"read_parquet({_quote(str(folder / f'{name}.parquet'))})"

    n = int(count)
    # an order or invoice once per distinct bucket of its two parties
    for table in ("orders", "invoices"):
        columns = ", ".join(HISTORY[table].column_names)
        _copy(connection, f"""
            SELECT {columns}, buyer_id % {n} AS bucket FROM {source(table)}
            UNION ALL
            SELECT {columns}, supplier_id % {n} AS bucket FROM {source(table)}
            WHERE supplier_id % {n} <> buyer_id % {n}""", out / table)
    # what hangs off an invoice or order goes to every bucket its parent went to
    for table, parent, key in (("payments", "invoices", "invoice_id"), ("returns", "orders", "order_id"),
                               ("disputes", "orders", "order_id")):
        columns = ", ".join(f"c.{c}" for c in HISTORY[table].column_names)
        _copy(connection, f"""
            SELECT {columns}, p.bucket FROM {source(table)} AS c
            JOIN (SELECT {key}, buyer_id % {n} AS bucket FROM {source(parent)}
                  UNION
                  SELECT {key}, supplier_id % {n} AS bucket FROM {source(parent)}) AS p USING ({key})""",
              out / table)
    (out / "manifest.json").write_text(json.dumps({"buckets": n, "sources": sources(folder)}, indent=2))
    return out


def _copy(connection, query: str, target: Path) -> None:  # noqa: ANN001
    connection.execute(f"COPY ({query}) TO {_quote(str(target))} "
                       "(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (bucket), OVERWRITE_OR_IGNORE)")
