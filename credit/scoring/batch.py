"""The batch scoring job: every firm's features, PD and reason codes as of a date, into the store.

:func:`score_all` is what a scheduler runs (``credit score --as-of``): it builds the panel at
one as-of date from the operational store (:func:`credit.features.panel.build_panel`, so the
features are the training features, point-in-time correct), scores every eligible firm with
an exported model (:class:`credit.models.serving.ServingModel`), explains each score with
reason codes from TreeSHAP contributions (only those true of the firm), and replaces that
date's snapshot for that model version in one transaction. Given a Dask client, it scores the
firms on the cluster's workers, mapped over firm partitions (:func:`score_rows_dask`), and
writes the same rows.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, delete, insert

from credit import clock
from credit.features.history import History
from credit.features.panel import build_panel
from credit.models.reasons import REASON_CATALOGUE_VERSION, reason_codes
from credit.models.serving import ServingModel
from credit.scoring.tables import ScoreSnapshot

REASONS_PER_SCORE = 4


@dataclass(frozen=True)
class ScoringRun:
    """What one :func:`score_all` run wrote.

    Attributes
    ----------
    rows
        Firms scored (one snapshot row each).
    replaced
        Rows of an earlier run for the same as-of date and model version that this run replaced.
    seconds
        Whole run; ``feature_seconds`` (reading the store and building the panel),
        ``scoring_seconds`` (PDs and reason codes) and ``writing_seconds`` (the transaction)
        are its parts.
    """

    as_of: date
    model_name: str
    model_version: str
    rows: int
    replaced: int
    scored_at: datetime
    seconds: float
    feature_seconds: float
    scoring_seconds: float
    writing_seconds: float


def score_all(engine: Engine, serving_folder: str | Path, as_of: date, *,
              reasons_per_score: int = REASONS_PER_SCORE, client=None) -> ScoringRun:  # noqa: ANN001
    """Score every eligible firm as of ``as_of`` and store the snapshot.

    Parameters
    ----------
    engine
        The operational store; its history is read and ``firm_scores`` is written.
    serving_folder
        A folder written by :func:`credit.models.registry.export_serving_files` (the champion).
    as_of
        Features use only events before this date. Firms not registered yet or already in
        default then are not scored (the panel's eligibility rule).
    reasons_per_score
        Most reason codes kept per firm.
    client
        A ``distributed.Client``: the firms are then scored on its workers, partitioned by
        firm (:func:`score_rows_dask`); the rows written are the same.

    Returns
    -------
    ScoringRun

    Raises
    ------
    ValueError
        If the panel lacks a feature of the model (the model was trained on another feature
        set) or a feature has no reason code.
    AsOfError
        If ``as_of`` lies outside the stored history.
    """
    started = time.perf_counter()
    model = ServingModel.load(serving_folder)
    frame = build_panel(History.from_store(engine), [as_of]).frame
    return store_scores(engine, model, frame, as_of, reasons_per_score=reasons_per_score,
                        feature_seconds=time.perf_counter() - started, client=client)


def store_scores(engine: Engine, model: ServingModel, frame: pd.DataFrame, as_of: date, *,
                 reasons_per_score: int = REASONS_PER_SCORE, feature_seconds: float = 0.0,
                 client=None) -> ScoringRun:  # noqa: ANN001
    """Score the firms of a feature frame built as of ``as_of`` and store them as that date's snapshot.

    :func:`score_all` builds the frame from the store; a job that already holds the panel
    (the demo, a backfill) passes its rows of that date, built by the same engine.

    Parameters
    ----------
    engine
        The operational store; ``firm_scores`` is written (an earlier run of the same date
        and model version is replaced).
    model
        The champion's serving model.
    frame
        One row per eligible firm with ``firm_id`` and the model's features as of ``as_of``.
    as_of
        The date the features were built at.
    reasons_per_score
        Most reason codes kept per firm.
    feature_seconds
        Time already spent building ``frame``, reported in the run.
    client
        A ``distributed.Client`` to score on, the frame partitioned by firm (:func:`score_rows_dask`).

    Returns
    -------
    ScoringRun

    Raises
    ------
    ValueError
        If the frame lacks a feature of the model or a feature has no reason code.
    """
    started = time.perf_counter()
    scored_at = clock.now()
    if client is None:
        rows = scored_rows(frame, model, as_of, scored_at, reasons_per_score)
    else:
        rows = score_rows_dask(frame, model, as_of, scored_at, reasons_per_score, client)
    scored = time.perf_counter()

    with engine.begin() as connection:
        replaced = connection.execute(delete(ScoreSnapshot).where(
            ScoreSnapshot.as_of == as_of, ScoreSnapshot.model_name == model.name,
            ScoreSnapshot.model_version == model.version)).rowcount
        if rows:
            connection.execute(insert(ScoreSnapshot), rows)
    finished = time.perf_counter()
    return ScoringRun(as_of=as_of, model_name=model.name, model_version=model.version, rows=len(rows),
                      replaced=replaced, scored_at=scored_at, seconds=feature_seconds + finished - started,
                      feature_seconds=feature_seconds, scoring_seconds=scored - started,
                      writing_seconds=finished - scored)


def scored_rows(frame: pd.DataFrame, model: ServingModel, as_of: date, scored_at: datetime,
                reasons_per_score: int = REASONS_PER_SCORE) -> list[dict]:
    """The snapshot rows of the firms of ``frame``: PD, inputs and reason codes, in the frame's order."""
    pds = model.predict_pd(frame) if len(frame) else np.empty(0)
    reasons = (reason_codes(model.contributions(frame), top=reasons_per_score, values=frame[model.features])
               if len(frame) else [])
    features = feature_records(frame, model)
    return [{"firm_id": int(firm_id), "as_of": as_of, "model_name": model.name, "model_version": model.version,
             "pd": float(pd_), "features": values, "reason_codes": codes,
             "reason_catalogue_version": REASON_CATALOGUE_VERSION, "scored_at": scored_at}
            for firm_id, pd_, values, codes in zip(frame["firm_id"].tolist(), pds.tolist(), features, reasons,
                                                   strict=True)]


def score_rows_dask(frame, model: ServingModel, as_of: date, scored_at: datetime,  # noqa: ANN001
                    reasons_per_score: int, client, partitions: int | None = None) -> list[dict]:  # noqa: ANN001
    """:func:`scored_rows` mapped over partitions of ``frame`` on ``client``'s workers, in the frame's order.

    ``frame`` is either a pandas DataFrame held here, partitioned by firm and sent to the
    workers (partition ``p`` holds the firms with ``firm_id % partitions == p``; default twice
    the workers, as the Dask feature build), or a Dask DataFrame, scored where its partitions
    are computed (:func:`credit.features.panel.read_panel_dask`: each task reads its own rows
    of a panel file, which then never passes through here). The model goes to each worker
    once; each task scores its firms exactly as one process would (the booster scores each
    row on its own), and the rows come back in the order of ``frame``.
    """
    import dask.dataframe as dd

    if isinstance(frame, pd.DataFrame):
        if not len(frame):
            return []
        partitions = partitions or 2 * max(1, len(client.nthreads()))
        firm_part = frame["firm_id"].to_numpy() % partitions
        parts = dd.from_delayed(client.scatter([frame[firm_part == p] for p in range(partitions)]),
                                meta=frame.iloc[:0], verify_meta=False)
    else:
        parts = frame
    [shared] = client.scatter([model], broadcast=True)
    scored = parts.map_partitions(_score_partition, shared, as_of, scored_at, reasons_per_score,
                                  meta={"firm_id": "i8", "row": "object"})
    # each partition's rows straight from its worker, in order: ``compute()`` would first join them all on
    # one worker (3.6 GiB of row objects at 200,000 firms, more than a 3 GB worker may take)
    rows, firms = [], []
    for future in client.compute(scored.to_delayed()):
        part = future.result()
        future.release()
        rows.extend(part["row"].tolist())
        firms.extend(part["firm_id"].tolist())
    if not isinstance(frame, pd.DataFrame):
        return rows  # the partitions in order: the frame's order
    by_firm = dict(zip(firms, rows, strict=True))
    return [by_firm[firm_id] for firm_id in frame["firm_id"].tolist()]


def _score_partition(part: pd.DataFrame, model: ServingModel, as_of: date, scored_at: datetime,
                     reasons_per_score: int) -> pd.DataFrame:
    rows = scored_rows(part, model, as_of, scored_at, reasons_per_score)
    return pd.DataFrame({"firm_id": part["firm_id"].to_numpy(dtype=np.int64),
                         "row": pd.Series(rows, index=part.index, dtype=object)})


def feature_records(frame: pd.DataFrame, model: ServingModel) -> list[dict]:
    """Each row's model inputs as JSON values, keyed by feature in the model's order.

    Categories become their label as text (what :func:`credit.scoring.online.score_features`
    and :meth:`ServingModel.predict_pd` accept); a missing value becomes null; numbers are
    floats, which JSON writes exactly. Infinities, which JSON lacks, become ``"inf"`` and
    ``"-inf"`` (NumPy reads both back as floats).
    """
    columns = []
    for name in model.features:
        column = frame[name]
        if name in model.categories or isinstance(column.dtype, pd.CategoricalDtype):
            columns.append([None if pd.isna(value) else str(value) for value in column.astype(object).tolist()])
        else:
            numbers = column.to_numpy(dtype=np.float64, na_value=np.nan).tolist()
            columns.append([value if math.isfinite(value) else (None if math.isnan(value) else str(value))
                            for value in numbers])
    return [dict(zip(model.features, values, strict=True)) for values in zip(*columns, strict=True)]
