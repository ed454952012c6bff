"""The PD model trained on a Dask cluster, on a panel partitioned by firm, from the same configuration.

:func:`train_lightgbm_dask` is the Dask twin of the LightGBM part of
:func:`~credit.models.training.train_on_panel`: the same parameters, the same held-out firms,
the same rule for the number of rounds, the same calibration, and a :class:`LightGBMPD` as the
result, so registration, export and serving take it unchanged. The boosters are trained by
``lightgbm.dask.DaskLGBMClassifier``; everything that needs a row of the panel runs in tasks
over its firm partitions; only a few numbers per partition and the calibration window's raw
PDs come back to the driver.

The number of rounds. LightGBM's Dask interface cannot stop early (lightgbm issue 3712: every
worker must run the same rounds, and each sees only its own validation rows), so the probe
boosts all ``num_boost_round`` rounds on the firms not held out. Each partition of the
held-out firms then sums its log loss after every round (from the leaves its rows fall in),
the driver adds the sums up, and :func:`early_stopping_round` applies the rule of
``lightgbm.early_stopping`` to that curve: the round it would have kept. So the rounds are
found exactly as on one process, at the price of the rounds after the stop. The final model
then boosts ``ceil(rounds / (1 - held_out_firm_share))`` rounds on every firm.

With one worker, LightGBM trains with its serial tree learner, on the rows this module hands
it in the panel's order (firm, as-of date), so the trees are those of the single-process
path; with more, it trains data-parallel (each worker bags its own rows) and the trees differ
by the luck of the bagging, not in kind.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import lightgbm as lgb
import numpy as np
import pandas as pd

from credit.features.panel import KEY_COLUMNS
from credit.models.pd_model import LightGBMPD, fit_calibrator
from credit.models.splits import HELD_OUT_FIRM_SHARE, OutOfTimeSplit, held_out_firms

LEAF_CHUNK = 100
"""Trees whose leaves are looked up at once when the held-out loss curve is computed (bounds memory)."""


@contextmanager
def local_cluster(workers: int) -> Iterator[object]:
    """A ``distributed.Client`` on a local cluster of ``workers`` single-threaded worker processes.

    The same cluster as :func:`credit.features.distributed.build_panel_dask` starts: one
    thread per worker (LightGBM takes its threads from the worker), Dask's default memory
    limit (the machine's memory shared equally by the workers), no dashboard.
    """
    from distributed import Client, LocalCluster

    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"`workers` must be an integer >= 1; got {workers!r}.")
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def partition_by_firm(frame: pd.DataFrame, client, partitions: int | None = None):  # noqa: ANN001, ANN201
    """The panel as a Dask DataFrame on ``client``'s workers, partitioned by firm.

    Partition ``p`` holds the firms with ``firm_id % partitions == p``. Each partition keeps the panel's order (firm, then as-of date). ``partitions`` defaults
    to twice the workers, as in the feature build.
    """
    import dask.dataframe as dd

    partitions = partitions or 2 * max(1, len(client.nthreads()))
    firm_part = frame["firm_id"].to_numpy() % partitions
    parts = [frame[firm_part == p] for p in range(partitions)]
    return dd.from_delayed(client.scatter(parts), meta=frame.iloc[:0], verify_meta=False)


def early_stopping_round(losses: np.ndarray, early_stopping_rounds: int) -> int:
    """The round ``lightgbm.early_stopping`` keeps on a validation loss curve (1-based).

    LightGBM keeps the round with the lowest loss seen so far (a later round must be strictly
    lower) and stops once ``early_stopping_rounds`` rounds have passed without a lower one,
    or at the last round.
    """
    losses = np.asarray(losses, dtype=float)
    if len(losses) == 0:
        raise ValueError("the loss curve is empty: the probe boosted no round.")
    best, best_round = math.inf, 0
    for round_, loss in enumerate(losses):
        if loss < best:
            best, best_round = loss, round_
        elif round_ - best_round >= early_stopping_rounds:
            break
    return best_round + 1


def leaf_values(booster) -> list[np.ndarray]:  # noqa: ANN001
    """Each tree's leaf outputs, exactly (the model text writes doubles with 17 digits)."""
    return [np.array(line.split("=", 1)[1].split(), dtype=np.float64)
            for line in booster.model_to_string().splitlines() if line.startswith("leaf_value=")]


def round_loss_sums(rows: pd.DataFrame, booster, leaves: list[np.ndarray], feature_columns: list[str],  # noqa: ANN001
                    label: str) -> np.ndarray:
    """Sum over ``rows`` of the binary log loss after each round: shape (rounds + 1,), the last entry the row count.

    The raw score after round ``r`` is the sum of the leaf outputs of trees ``0..r`` (the
    first tree carries the starting average), added in the order LightGBM adds them; the
    loss is LightGBM's ``binary_logloss`` (probabilities kept above 1e-15).
    """
    rounds = len(leaves)
    sums = np.zeros(rounds + 1)
    sums[rounds] = len(rows)
    if not len(rows):
        return sums
    y = rows[label].to_numpy(dtype=np.float64)
    X = rows[feature_columns]
    raw = np.zeros(len(rows))
    for start in range(0, rounds, LEAF_CHUNK):
        count = min(LEAF_CHUNK, rounds - start)
        indices = booster.predict(X, start_iteration=start, num_iteration=count, pred_leaf=True).reshape(len(rows), count)
        for j in range(count):
            raw += leaves[start + j][indices[:, j]]
            p = 1.0 / (1.0 + np.exp(-raw))
            loss = np.where(y > 0, -np.log(np.maximum(p, 1e-15)), -np.log(np.maximum(1.0 - p, 1e-15)))
            sums[start + j] = loss.sum()
    return sums


def train_lightgbm_dask(panel, feature_columns: list[str], label: str, split: OutOfTimeSplit, *,  # noqa: ANN001
                        client, lightgbm_params: dict | None = None, lightgbm_options: dict | None = None,  # noqa: ANN001
                        random_state: int = 0, held_out_firm_share: float = HELD_OUT_FIRM_SHARE) -> LightGBMPD:
    """Train the LightGBM PD model on a Dask DataFrame as :func:`~credit.models.training.train_on_panel` does on one process.

    Parameters
    ----------
    panel
        Dask DataFrame of panel rows with ``firm_id``, ``as_of``, ``label`` and the features,
        best partitioned by firm (:func:`partition_by_firm`); its rows in each window are
        those of ``split`` (matched by as-of date).
    feature_columns, label, split, lightgbm_params, random_state, held_out_firm_share
        As for :func:`~credit.models.training.train_on_panel`.
    lightgbm_options
        ``num_boost_round`` (the probe boosts all of them), ``early_stopping_rounds`` (applied
        to the probe's held-out loss curve, see the module docstring), ``calibration``.
    client
        A ``distributed.Client``; LightGBM trains on its workers.

    Returns
    -------
    LightGBMPD
        Fitted: booster, ``best_iteration_`` (its rounds) and calibrator, as a single-process fit.

    Raises
    ------
    ValueError
        If a feature column is missing, a row of a window has no label, or a window of the
        fit (the firms not held out, the held-out firms, the calibration window) has one class only.
    """
    import dask

    missing = [c for c in [*KEY_COLUMNS, label, *feature_columns] if c not in panel.columns]
    if missing:
        raise ValueError(f"the panel has no column(s) {missing[:5]}")
    options = dict(lightgbm_options or {})
    calibration = options.pop("calibration", "sigmoid")
    num_boost_round = options.pop("num_boost_round", 2000)
    early_stopping_rounds = options.pop("early_stopping_rounds", 100)
    if options:
        raise ValueError(f"unknown LightGBM option(s) {sorted(options)}; expected num_boost_round, "
                         "early_stopping_rounds, calibration")
    columns = [*KEY_COLUMNS, label, *feature_columns]
    rows = panel[columns].map_partitions(_with_windows, split, held_out_firm_share, label,
                                         meta=_with_windows(panel._meta[columns], split, held_out_firm_share, label))
    counts = rows.map_partitions(_window_counts, label, meta=_window_counts(rows._meta, label)).compute().sum()
    if counts["unlabelled"]:
        raise ValueError(f"{int(counts['unlabelled'])} row(s) of the split windows have no {label!r}; their outcome "
                         "is not known yet, so they can neither train nor test a model: move the windows earlier")
    for window in ("learn", "stop", "calibrate") if calibration else ("learn", "stop"):
        if counts[f"{window}_rows"] == 0 or counts[f"{window}_defaults"] in (0, counts[f"{window}_rows"]):
            raise ValueError(f"the {_WINDOW_NAMES[window]} have one class only ({int(counts[f'{window}_rows'])} rows, "
                             f"{int(counts[f'{window}_defaults'])} defaults); a PD model needs defaults and non-defaults.")

    model = LightGBMPD(params=lightgbm_params, num_boost_round=num_boost_round, early_stopping_rounds=None,
                       calibration=calibration, random_state=random_state)
    # LightGBM on Dask takes its threads from each worker
    params = {k: v for k, v in model._booster_params(panel._meta[feature_columns]).items() if k != "num_threads"}

    # each fit's rows live on the workers only while LightGBM builds its Datasets from them
    probe = _fit_booster(*_per_worker(rows[rows["_window"] == "learn"], feature_columns, label, client), client,
                         num_boost_round, params)
    leaves = leaf_values(probe)
    stop = rows[rows["_window"] == "stop"]
    probe_text = probe.model_to_string()
    sums = np.sum(dask.compute(*[dask.delayed(_stop_loss_sums)(part, probe_text, leaves, feature_columns, label)
                                 for part in stop.to_delayed()]), axis=0)
    best = early_stopping_round(sums[:-1] / sums[-1], early_stopping_rounds or num_boost_round)
    rounds = math.ceil(best / (1 - held_out_firm_share))

    booster = _fit_booster(*_per_worker(rows[rows["_window"].isin(["learn", "stop"])], feature_columns, label, client),
                           client, rounds, params)
    calibrator = None
    if calibration is not None:
        window = rows[rows["_window"] == "calibrate"]
        raw = window.map_partitions(
            lambda part, b: part[[*KEY_COLUMNS, label]].assign(raw=b.predict(part[feature_columns], num_iteration=rounds)
                                                             if len(part) else np.empty(0)),
            booster, meta={**{c: rows._meta[c].dtype for c in [*KEY_COLUMNS, label]}, "raw": "f8"}).compute()
        # in the panel's order, as the single-process calibrator sees it: its fit sums over rows
        raw = raw.sort_values(KEY_COLUMNS, kind="stable")
        calibrator = fit_calibrator(calibration, raw["raw"].to_numpy(), raw[label].astype(int).to_numpy())
    return model.adopt_booster(booster, rounds, calibrator)


def _stop_loss_sums(rows: pd.DataFrame, model_text: str, leaves: list[np.ndarray], feature_columns: list[str],
                    label: str) -> np.ndarray:
    """:func:`round_loss_sums` with the task's own booster: LightGBM keeps the iteration range to predict in the
    booster, so tasks sharing one (threads of a worker, in-process workers) would race on it."""
    return round_loss_sums(rows, lgb.Booster(model_str=model_text), leaves, feature_columns, label)


_WINDOW_NAMES = {"learn": "firms not held out of the train and valid windows",
                 "stop": "held-out firms of the train and valid windows", "calibrate": "calibration window"}


def _with_windows(part: pd.DataFrame, split: OutOfTimeSplit, share: float, label: str) -> pd.DataFrame:
    """``part`` with ``_window``: learn / stop (held-out firms) / calibrate / test / "" (no window)."""
    days = pd.to_datetime(part["as_of"]).dt.date
    window = np.full(len(part), "", dtype=object)
    fit = days.isin(split.dates["train"]).to_numpy() | days.isin(split.dates["valid"]).to_numpy()
    held_out = held_out_firms(part["firm_id"], share) if len(part) else np.zeros(0, dtype=bool)
    window[fit & ~held_out] = "learn"
    window[fit & held_out] = "stop"
    window[days.isin(split.dates["calibrate"]).to_numpy()] = "calibrate"
    window[days.isin(split.dates["test"]).to_numpy()] = "test"
    return part.assign(_window=pd.Series(window, index=part.index, dtype=object))


def _window_counts(part: pd.DataFrame, label: str) -> pd.DataFrame:
    used = part["_window"] != ""
    counts = {"unlabelled": int(part.loc[used, label].isna().sum())}
    for window in ("learn", "stop", "calibrate"):
        mask = part["_window"] == window
        counts[f"{window}_rows"] = int(mask.sum())
        counts[f"{window}_defaults"] = int((part.loc[mask, label] == 1).sum())
    return pd.DataFrame([counts])


def _fit_booster(X, y, client, rounds: int, params: dict):  # noqa: ANN001, ANN202
    from lightgbm.dask import DaskLGBMClassifier

    with warnings.catch_warnings():
        # the wrapper's own n_jobs default; the threads come from the workers, as intended
        warnings.filterwarnings("ignore", message="Parameter n_jobs will be ignored")
        return DaskLGBMClassifier(client=client, n_estimators=rounds, **params).fit(X, y).booster_


def _per_worker(rows, feature_columns: list[str], label: str, client):  # noqa: ANN001, ANN202
    """The features and the 0/1 label of ``rows``: one partition per worker, computed on that worker, in panel order.

    LightGBM joins the partitions a worker holds in the order Dask lists them, which is not
    fixed; joining them here, in order, makes the rows each worker trains on, and so the
    bagging, the same on every run, and with one worker the single-process path's rows.
    Worker ``i`` (by address) computes partition ``i`` and every task it needs, so it reads
    its own rows of the panel and nothing passes through the driver; only the features and
    the label are kept, as LightGBM takes them, so the worker holds no other copy.
    """
    import dask.dataframe as dd

    addresses = sorted(client.scheduler_info()["workers"])
    merged = rows.repartition(npartitions=min(len(addresses), rows.npartitions))
    ordered = merged.map_partitions(_in_panel_order, meta=merged._meta)
    X, y = [], []
    for part, address in zip(ordered.to_delayed(), addresses, strict=False):
        on = {"workers": [address], "allow_other_workers": False}
        whole = client.compute(part, **on)
        X.append(client.submit(_columns, whole, feature_columns, **on))
        y.append(client.submit(_labels, whole, label, **on))
        del whole  # released once X and y are taken from it
    return (dd.from_delayed(X, meta=ordered._meta[feature_columns], verify_meta=False),
            dd.from_delayed(y, meta=_labels(ordered._meta, label), verify_meta=False))


def _in_panel_order(part: pd.DataFrame) -> pd.DataFrame:
    """``part`` sorted by firm and as-of date, stably; not copied when it already is (row ranges of a panel file)."""
    firm, day = part["firm_id"].to_numpy(), part["as_of"].to_numpy()
    if len(part) < 2 or bool(np.all((firm[1:] > firm[:-1]) | ((firm[1:] == firm[:-1]) & (day[1:] > day[:-1])))):
        return part
    return part.sort_values(KEY_COLUMNS, kind="stable")


def _columns(part: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return part[columns]


def _labels(part: pd.DataFrame, label: str) -> pd.Series:
    return part[label].astype("int64")
