"""Where the history's firm buckets live, and whether they are current (written by :mod:`credit.features.buckets`).

Bucket ``p`` of ``count`` holds what the firms with ``firm_id % count == p`` need: their orders
and invoices as either party, and the payments, returns and disputes on those. The layout,
inside the history folder::

    by_firm/<count>/<table>/bucket=<p>/*.parquet
    by_firm/<count>/manifest.json     the source files' sizes and times when written

Reading a bucket (:meth:`credit.features.history.History.from_parquet` with a partition) needs
only this module; writing them is :func:`credit.features.buckets.write_buckets`.
"""

from __future__ import annotations

import json
from pathlib import Path

BUCKETED = ("orders", "invoices", "payments", "returns", "disputes")
"""The tables written per bucket; the others are read whole."""


def bucket_folder(folder: Path | str, count: int) -> Path:
    """Where the ``count`` buckets of the history in ``folder`` live."""
    return Path(folder) / "by_firm" / str(int(count))


def bucket_files(folder: Path | str, table: str, bucket: int, count: int) -> str:
    """The glob of bucket ``bucket``'s files of ``table`` (a bucket may hold no file: no rows)."""
    return str(bucket_folder(folder, count) / table / f"bucket={int(bucket)}" / "*.parquet")


def sources(folder: Path) -> dict[str, list[int]]:
    """Size and modification time of each bucketed table's file: buckets written from other files are stale."""
    return {name: [(folder / f"{name}.parquet").stat().st_size, (folder / f"{name}.parquet").stat().st_mtime_ns]
            for name in BUCKETED}


def is_bucketed(folder: Path | str, count: int) -> bool:
    """Whether ``folder`` holds ``count`` buckets written from its current files."""
    manifest = bucket_folder(folder, count) / "manifest.json"
    if not manifest.is_file():
        return False
    return json.loads(manifest.read_text()).get("sources") == sources(Path(folder))
