"""Batch scoring on Dask, mapped over firm partitions, writes exactly the rows of the single-process job."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from credit.scoring.batch import score_all
from credit.scoring.tables import ScoreSnapshot
from tests.scoring.conftest import AS_OF

COMPARED = ("firm_id", "as_of", "model_name", "model_version", "pd", "features", "reason_codes",
            "reason_catalogue_version")
"""Every column but the row id and ``scored_at`` (each run's own time)."""


def _rows(engine) -> dict[int, tuple]:  # noqa: ANN001
    with engine.connect() as connection:
        rows = connection.execute(select(ScoreSnapshot).where(
            ScoreSnapshot.as_of == AS_OF, ScoreSnapshot.model_version == "1")).all()
        return {row.firm_id: tuple(getattr(row, column) for column in COMPARED) for row in rows}


def test_dask_scoring_writes_the_single_process_rows_exactly(scored_store, serving_folders: dict[str, Path],  # noqa: ANN001
                                                             dask_client) -> None:  # noqa: ANN001
    single = _rows(scored_store.engine)
    run = score_all(scored_store.engine, serving_folders["1"], AS_OF, client=dask_client(2))  # 4 firm partitions, 2 per worker
    on_dask = _rows(scored_store.engine)
    assert run.rows == run.replaced == len(single) > 150
    # tolerance 0: each partition scores its firms with the same booster and calibrator, and a row's PD,
    # contributions and reason codes depend on that row alone
    assert on_dask == single
    assert len({values[4] for values in on_dask.values()}) > len(on_dask) / 2  # PDs that differ between firms
