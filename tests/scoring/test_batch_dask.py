"""Batch scoring on Dask, mapped over firm partitions, writes exactly the rows of the single-process job."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from credit.features.history import History
from credit.features.panel import build_panel, read_panel, read_panel_dask, write_panel
from credit.models.serving import ServingModel
from credit.scoring.batch import REASONS_PER_SCORE, score_all, score_rows_dask, scored_rows
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


def test_dask_scoring_of_a_panel_read_on_the_workers_gives_the_single_process_rows(
        marketplace: Path, serving_folders: dict[str, Path], dask_client, tmp_path: Path) -> None:  # noqa: ANN001
    write_panel(build_panel(History.from_parquet(marketplace), [AS_OF]), tmp_path)
    model = ServingModel.load(serving_folders["1"])
    scored_at = datetime(2024, 12, 1, 6, 0)
    single = scored_rows(read_panel(tmp_path).frame, model, AS_OF, scored_at)
    # 3 row ranges of the panel file, each read and scored by a task on one of the 2 workers
    _, frame = read_panel_dask(tmp_path, columns=model.features, partitions=3)
    on_dask = score_rows_dask(frame, model, AS_OF, scored_at, REASONS_PER_SCORE, dask_client(2))
    assert len(single) > 150 and [row["firm_id"] for row in single] == sorted(row["firm_id"] for row in single)
    # tolerance 0 and the same order: each row's PD, inputs and reason codes depend on that row alone
    assert on_dask == single
