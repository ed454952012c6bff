"""Independent baselines for a labelled credit table, on folds given from outside.

    .venv/bin/python benchmarks/table_baselines.py --table X.csv --target y --folds folds.csv \
        [--drop id] [--draws 20] [--out baselines.json]

Nothing of the project is imported: this script is the yardstick ``credit train --table`` is
held to (SPEC 7), so it uses LightGBM, scikit-learn and optbinning directly. ``--folds`` is a
CSV with the columns ``row`` (0-based position in the table) and ``fold`` (an integer); each
fold is scored by models fitted on the rows of the other folds. Every model gets the same
folds, and the PDs of all folds are pooled.

The models (every column but the target and ``--drop`` is a feature; text and boolean
columns are categorical, the rest numeric):

``lightgbm``
    Plain LightGBM: 300 trees, learning rate 0.03, 15 leaves, otherwise LightGBM's defaults;
    categorical columns as LightGBM categories.
``lightgbm_tuned``
    LightGBM tuned by random search, within each outer training fold only: ``--draws`` (20)
    draws from the space below, each scored by the mean AUC of a 3-fold stratified CV on the
    outer training rows at the number of trees with the least mean log loss (early stopping
    on log loss, 100 rounds, at most 1,000 trees); the best draw is refitted on all outer
    training rows with that number of trees. The space:
    ``num_leaves`` 4-64 and ``min_child_samples`` 5-200 (log-uniform integers),
    ``learning_rate`` 0.02-0.2 (log-uniform), ``feature_fraction`` and ``bagging_fraction``
    0.5-1 (uniform; bagging every iteration), ``lambda_l2`` 0.001-10 (log-uniform). The draws
    are the same for every fold (seed ``--seed``).
``logistic``
    Logistic regression (L2, C=1): numeric columns median-imputed and standardised; categorical
    columns one-hot encoded, a missing value as its own level.
``scorecard``
    optbinning ``BinningProcess`` (optimal binning of every column, WoE transform, default
    settings) and a logistic regression on the WoE values.

Output: a JSON file (``--out``, default beside the table) with, per model, the pooled
out-of-fold PDs in table order, their AUC, log loss and Brier score, and the fit time; for
``lightgbm_tuned`` the chosen parameters and trees of each fold. A summary is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

PLAIN = {"objective": "binary", "n_estimators": 300, "learning_rate": 0.03, "num_leaves": 15, "verbose": -1}
INNER_FOLDS = 3
EARLY_STOPPING_ROUNDS = 100
MAX_TREES = 1000
MODELS = ("lightgbm", "lightgbm_tuned", "logistic", "scorecard")


def read_inputs(table_path: Path, target: str, folds_path: Path, drop: list[str]) -> tuple[pd.DataFrame, np.ndarray,
                                                                                            np.ndarray]:
    """Features (categorical columns as pandas categories over the whole table's levels), 0/1 target, fold per row."""
    frame = pd.read_csv(table_path)
    missing = [c for c in [target, *drop] if c not in frame.columns]
    if missing:
        raise SystemExit(f"error: {table_path} has no column {', '.join(missing)}; it has {', '.join(frame.columns)}")
    y = frame.pop(target)
    if not set(y.unique()) <= {0, 1}:
        raise SystemExit(f"error: --target {target} must hold 0 and 1 only; it holds {sorted(map(str, y.unique()))}")
    X = frame.drop(columns=drop)
    for column in X.columns:
        if not pd.api.types.is_numeric_dtype(X[column]) or pd.api.types.is_bool_dtype(X[column]):
            # levels from the whole table so every fold codes them alike (no target information in that)
            X[column] = X[column].astype("string").astype("category")
    folds = pd.read_csv(folds_path)
    if list(folds.columns[:2]) != ["row", "fold"] or len(folds) != len(X):
        raise SystemExit(f"error: {folds_path} must have the columns row, fold and one line per table row "
                         f"({len(X)}); it has {list(folds.columns)} and {len(folds)} lines")
    if not folds["row"].equals(pd.Series(range(len(X)))):
        raise SystemExit(f"error: {folds_path}: the row column must be 0, 1, ... {len(X) - 1} in order")
    fold = pd.to_numeric(folds["fold"], errors="coerce")
    if fold.isna().any():
        bad = folds["fold"][fold.isna()].unique()[:5]
        raise SystemExit(f"error: {folds_path}: fold must be an integer on every row (cross-validation); "
                         f"found {list(bad)}")
    return X, y.to_numpy().astype(int), fold.to_numpy().astype(int)


def random_draws(count: int, seed: int) -> list[dict]:
    """The random-search draws (the space is in the module docstring)."""
    rng = np.random.default_rng(seed)

    def log_uniform(low: float, high: float) -> float:
        return float(np.exp(rng.uniform(np.log(low), np.log(high))))

    return [{"num_leaves": int(round(log_uniform(4, 64))), "min_child_samples": int(round(log_uniform(5, 200))),
             "learning_rate": log_uniform(0.02, 0.2), "feature_fraction": float(rng.uniform(0.5, 1.0)),
             "bagging_fraction": float(rng.uniform(0.5, 1.0)), "bagging_freq": 1,
             "lambda_l2": log_uniform(0.001, 10.0)} for _ in range(count)]


def fit_plain(X: pd.DataFrame, y: np.ndarray, seed: int, threads: int) -> lgb.LGBMClassifier:
    return lgb.LGBMClassifier(**PLAIN, random_state=seed, n_jobs=threads).fit(X, y)


def fit_tuned(X: pd.DataFrame, y: np.ndarray, draws: list[dict], seed: int, threads: int) -> tuple[lgb.Booster, dict]:
    """Random search scored by an inner CV on ``X`` only; the winner refitted on all of ``X``."""
    # early stopping on log loss: the AUC of the first few trees of a small fold peaks by chance and stops the
    # search at a handful of trees; the log loss falls smoothly until the model starts to overfit
    base = {"objective": "binary", "metric": ["binary_logloss", "auc"], "first_metric_only": True, "verbose": -1,
            "seed": seed, "num_threads": threads, "feature_pre_filter": False}
    inner = list(StratifiedKFold(INNER_FOLDS, shuffle=True, random_state=seed).split(X, y))
    best: tuple[float, dict, int] | None = None
    # binned once for all draws: feature_pre_filter off lets min_child_samples vary on the same bins
    data = lgb.Dataset(X, y, params={"feature_pre_filter": False}, free_raw_data=False)
    for draw in draws:
        history = lgb.cv({**base, **draw}, data, num_boost_round=MAX_TREES, folds=inner,
                         callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)])
        trees = int(np.argmin(history["valid binary_logloss-mean"])) + 1
        score = history["valid auc-mean"][trees - 1]
        if best is None or score > best[0]:
            best = (float(score), draw, trees)
    inner_auc, params, trees = best
    booster = lgb.train({**base, **params}, lgb.Dataset(X, y), num_boost_round=trees)
    return booster, {**params, "trees": trees, "inner_cv_auc": round(inner_auc, 4)}


def fit_logistic(X: pd.DataFrame, y: np.ndarray) -> Pipeline:
    numeric = [c for c in X.columns if not isinstance(X[c].dtype, pd.CategoricalDtype)]
    categorical = [c for c in X.columns if c not in numeric]
    prepare = ColumnTransformer([
        ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("categorical", make_pipeline(SimpleImputer(strategy="constant", fill_value="(missing)"),
                                      OneHotEncoder(handle_unknown="ignore")), categorical),
    ])
    return make_pipeline(prepare, LogisticRegression(C=1.0, max_iter=5000)).fit(_as_object(X, categorical), y)


def fit_scorecard(X: pd.DataFrame, y: np.ndarray) -> Pipeline:
    from optbinning import BinningProcess

    categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    binning = BinningProcess(variable_names=list(X.columns), categorical_variables=categorical)
    return make_pipeline(binning, LogisticRegression(C=1.0, max_iter=5000)).fit(_as_object(X, categorical), y)


def _as_object(X: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    """Categorical columns as plain objects with NaN for missing: what scikit-learn's imputer and optbinning expect."""
    out = X.copy()
    for column in categorical:
        out[column] = out[column].astype(object).where(out[column].notna(), np.nan)
    return out


def out_of_fold(X: pd.DataFrame, y: np.ndarray, fold: np.ndarray, draws: list[dict], seed: int,
                threads: int) -> dict:
    """Every model's pooled out-of-fold PDs, fit seconds, and the tuned parameters per fold."""
    pds = {name: np.full(len(y), np.nan) for name in MODELS}
    seconds = dict.fromkeys(MODELS, 0.0)
    tuned: dict[str, dict] = {}
    for held_out in np.unique(fold):
        train, test = fold != held_out, fold == held_out
        X_train, y_train, X_test = X[train], y[train], X[test]
        categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
        for name in MODELS:
            started = time.perf_counter()
            if name == "lightgbm":
                pds[name][test] = fit_plain(X_train, y_train, seed, threads).predict_proba(X_test)[:, 1]
            elif name == "lightgbm_tuned":
                booster, tuned[str(held_out)] = fit_tuned(X_train, y_train, draws, seed, threads)
                pds[name][test] = booster.predict(X_test)
            elif name == "logistic":
                pds[name][test] = fit_logistic(X_train, y_train).predict_proba(_as_object(X_test, categorical))[:, 1]
            else:
                pds[name][test] = fit_scorecard(X_train, y_train).predict_proba(_as_object(X_test, categorical))[:, 1]
            seconds[name] += time.perf_counter() - started
    return {"pds": pds, "seconds": seconds, "tuned": tuned}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, required=True, help="CSV table.")
    parser.add_argument("--target", required=True, help="The 0/1 target column (1 = bad).")
    parser.add_argument("--folds", type=Path, required=True, help="CSV with columns row, fold.")
    parser.add_argument("--drop", action="append", default=[], help="A column that is not a feature (an id). "
                        "Repeatable.")
    parser.add_argument("--draws", type=int, default=20, help="Random-search draws per outer fold (default 20).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the draws and of LightGBM (default 0).")
    parser.add_argument("--threads", type=int, default=1, help="LightGBM threads (default 1: on a busy "
                        "machine more OpenMP threads than free cores slow LightGBM down many times).")
    parser.add_argument("--out", type=Path, help="JSON to write (default: <table>.baselines.json).")
    args = parser.parse_args()
    if args.draws < 1:
        parser.error(f"--draws must be >= 1; got {args.draws}")

    X, y, fold = read_inputs(args.table, args.target, args.folds, args.drop)
    warnings.filterwarnings("ignore", category=UserWarning)  # LightGBM/optbinning chatter, not results
    result = out_of_fold(X, y, fold, random_draws(args.draws, args.seed), args.seed, args.threads)
    models = {}
    for name in MODELS:
        pd_ = result["pds"][name]
        models[name] = {"auc": roc_auc_score(y, pd_), "log_loss": log_loss(y, pd_), "brier": brier_score_loss(y, pd_),
                        "seconds": round(result["seconds"][name], 2), "pd": pd_.tolist()}
    out = args.out or args.table.with_suffix(".baselines.json")
    out.write_text(json.dumps({
        "table": str(args.table), "target": args.target, "rows": len(y), "bad": int(y.sum()),
        "folds": int(len(np.unique(fold))), "features": list(X.columns), "draws": args.draws, "seed": args.seed,
        "models": models, "lightgbm_tuned_per_fold": result["tuned"],
    }))
    print(f"{args.table}: {len(y):,} rows, {int(y.sum()):,} bad, {len(np.unique(fold))} folds, "
          f"{X.shape[1]} features -> {out}")
    for name, m in models.items():
        print(f"  {name:<15} AUC {m['auc']:.4f}  log loss {m['log_loss']:.4f}  Brier {m['brier']:.4f}  "
              f"{m['seconds']:7.1f} s")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
