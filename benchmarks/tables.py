"""Table benchmark (issue 18): ``credit train --table`` against independent baselines, same folds.

    .venv/bin/python benchmarks/tables.py [--tables german,hmda] [--quick] [--baselines-only]

For each table of :mod:`public_tables` (Berka and nine public credit tables that PyPI
packages ship; written as CSV with a 0/1 column ``bad``):

1. Runs ``credit train --table <csv> --target bad`` (``--id-col loan_id`` on Berka) in a
   subprocess with a throwaway MLflow store under ``benchmarks/out/tables/<table>/``
   (``CREDIT_TRACKING_URI``, ``CREDIT_ARTIFACT_LOCATION``), reads ``run <run_id>`` from what it
   prints, and takes from that run the artifact ``evaluation/out_of_fold.csv`` (``row``,
   ``fold``, ``target``, ``champion`` and one PD column per candidate) and the tag ``champion``.
2. Writes the run's ``row``, ``fold`` as ``folds.csv`` and runs ``table_baselines.py`` (which
   imports nothing of the project) on exactly those folds: plain LightGBM, LightGBM tuned by
   random search, a logistic regression and an optbinning scorecard.
3. Prints, per table, rows and bad rate, our champion's name and the AUC of its pooled
   out-of-fold PDs with a 95% bootstrap interval, each baseline's AUC and interval, our margin
   over the best baseline, and whether it is within that baseline's interval half-width
   ("ok" when margin >= -half-width); then the mean over tables (and, when both kinds are run,
   over the tables the champion rule was chosen on and over those held apart,
   :data:`public_tables.HELD_APART`); then log loss and Brier score,
   and how many of our champion's PDs are exactly 0 or 1.

Intervals: percentile bootstrap, 1,000 resamples of the rows, seed 0; the same resamples for
every model of a table (paired), so the interval of the margin (``diff``) is paired too.

``--baselines-only`` skips our training and gives the baselines the folds that the contract of
``credit train --table`` states (``StratifiedKFold(5, shuffle=True, random_state=0)`` over the
rows in table order). ``--quick`` runs the random search with 5 draws instead of 20.
``--reuse-baselines`` keeps a table's ``baselines.json`` when its folds and draws are unchanged and it is
newer than ``table_baselines.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from public_tables import HELD_APART, OUT, ROOT, TABLES, TARGET, written  # noqa: E402

BASELINES = ("lightgbm", "lightgbm_tuned", "logistic", "scorecard")
RESAMPLES = 1000
BOOTSTRAP_SEED = 0
RUN_LINE = re.compile(r"\brun ([0-9a-f]{32})\b")


def train_ours(name: str, csv: Path, folder: Path) -> tuple[pd.DataFrame, str, float]:
    """Run ``credit train --table`` on a fresh store; the run's out-of-fold table, champion and seconds."""
    store = folder / "mlflow"
    if store.exists():
        shutil.rmtree(store)
    store.mkdir(parents=True)
    tracking_uri = f"sqlite:///{store / 'mlflow.db'}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CREDIT_TRACKING_URI": tracking_uri,
           "CREDIT_ARTIFACT_LOCATION": (store / "artifacts").as_uri(), "COLUMNS": "200"}
    command = [sys.executable, "-c", "import sys; from cli import app; sys.argv[0] = 'credit'; app()",
               "train", "--table", str(csv), "--target", TARGET, "--report", str(folder / "report.html")]
    if TABLES[name].id_column:
        command += ["--id-col", TABLES[name].id_column]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    (folder / "credit_train.log").write_text(done.stdout + done.stderr)
    found = RUN_LINE.search(done.stdout)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"credit train --table {csv} failed (exit {done.returncode}); its output:\n"
                         f"{done.stdout}{done.stderr}")
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"  # its bar would land in the printed table
    from mlflow import MlflowClient

    run_id = found.group(1)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    local = client.download_artifacts(run_id, "evaluation/out_of_fold.csv", str(folder))
    champion = client.get_run(run_id).data.tags.get("champion")
    oof = pd.read_csv(local)
    if champion is None:
        raise SystemExit(f"run {run_id} of {name} has no champion tag")
    return oof, champion, seconds


def contract_folds(y: np.ndarray, seed: int) -> np.ndarray:
    """The outer folds ``credit train --table`` states: StratifiedKFold(5, shuffle, seed) in table order."""
    from sklearn.model_selection import StratifiedKFold

    fold = np.empty(len(y), dtype=int)
    for k, (_, scored) in enumerate(StratifiedKFold(5, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)):
        fold[scored] = k
    return fold


def run_baselines(name: str, csv: Path, folder: Path, fold: pd.Series, draws: int, reuse: bool) -> dict:
    """``table_baselines.py`` on the given folds (its JSON), reused only when asked and the folds are the same."""
    folds_csv, out = folder / "folds.csv", folder / "baselines.json"
    folds = pd.DataFrame({"row": np.arange(len(fold)), "fold": fold.to_numpy()})
    same_folds = folds_csv.is_file() and pd.read_csv(folds_csv).astype(str).equals(folds.astype(str))
    script = ROOT / "benchmarks" / "table_baselines.py"
    fresh = same_folds and out.is_file() and (
        out.stat().st_mtime > max(script.stat().st_mtime, folds_csv.stat().st_mtime))
    if reuse and same_folds and fresh and json.loads(out.read_text())["draws"] == draws:
        return json.loads(out.read_text()) | {"reused": True}
    folds.to_csv(folds_csv, index=False)
    command = [sys.executable, str(ROOT / "benchmarks" / "table_baselines.py"), "--table", str(csv), "--target",
               TARGET, "--folds", str(folds_csv), "--draws", str(draws), "--out", str(out)]
    if TABLES[name].id_column:
        command += ["--drop", TABLES[name].id_column]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text()) | {"reused": False}


def bootstrap_auc(y: np.ndarray, scores: dict[str, np.ndarray], resamples: int, seed: int) -> dict[str, np.ndarray]:
    """AUC of each model on the same ``resamples`` row resamples (paired); an array of AUCs per model.

    Each resample is a vector of row counts, so the AUC is the Mann-Whitney statistic with
    those counts as weights (ties count one half), computed over the sorted distinct scores.
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    counts = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(resamples)]).astype(float)
    result = {}
    for name, score in scores.items():
        order = np.argsort(score, kind="stable")
        ranked = score[order]
        starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
        weights = counts[:, order]
        bad = np.add.reduceat(weights * y[order], starts, axis=1)
        good = np.add.reduceat(weights * (1 - y[order]), starts, axis=1)
        good_below = np.cumsum(good, axis=1) - good
        result[name] = (bad * (good_below + 0.5 * good)).sum(axis=1) / (bad.sum(axis=1) * good.sum(axis=1))
    return result


def compare(name: str, y: np.ndarray, ours: dict[str, np.ndarray], champion: str | None,
            baselines: dict[str, np.ndarray]) -> dict:
    """Point metrics, paired bootstrap intervals and the margin of our champion over the best baseline."""
    scores = {**({"ours": ours["champion"]} if champion else {}), **baselines}
    draws = bootstrap_auc(y, scores, RESAMPLES, BOOTSTRAP_SEED)
    models = {}
    for model, score in scores.items():
        low, high = np.percentile(draws[model], [2.5, 97.5])
        models[model] = {"auc": roc_auc_score(y, score), "low": low, "high": high,
                         "log_loss": log_loss(y, score), "brier": brier_score_loss(y, score),
                         "exact_0_or_1": int(((score == 0) | (score == 1)).sum())}
    best = max(BASELINES, key=lambda m: models[m]["auc"])
    row = {"table": name, "rows": len(y), "bad_rate": float(y.mean()), "champion": champion, "models": models,
           "best_baseline": best}
    if champion:
        margin = models["ours"]["auc"] - models[best]["auc"]
        half_width = (models[best]["high"] - models[best]["low"]) / 2
        low, high = np.percentile(draws["ours"] - draws[best], [2.5, 97.5])
        row |= {"margin": margin, "half_width": half_width, "within": margin >= -half_width,
                "margin_low": low, "margin_high": high,
                "candidates": {c: roc_auc_score(y, ours[c]) for c in ours if c != "champion"}}
    return row


def print_mean(label: str, rows: list[dict], with_ours: bool) -> None:
    """One line: each model's mean AUC over ``rows`` and ours against the mean of each table's best baseline."""
    mean = lambda model: np.mean([r["models"][model]["auc"] for r in rows])  # noqa: E731
    line = f"{label:<27}  "
    if with_ours:
        line += f"{mean('ours'):<38.3f}"
    line += "".join(f"{mean(b):<22.3f}" for b in BASELINES)
    if with_ours:
        best_mean = np.mean([r["models"][r["best_baseline"]]["auc"] for r in rows])
        line += f"{mean('ours') - best_mean:>+8.3f} (vs the mean of each table's best baseline, {best_mean:.3f})"
    print(line)


def print_comparison(rows: list[dict], with_ours: bool) -> None:
    auc_cell = lambda m: f"{m['auc']:.3f} [{m['low']:.3f},{m['high']:.3f}]"  # noqa: E731
    head = f"{'table':<13}{'rows':>7}{'bad':>7}  "
    if with_ours:
        head += f"{'ours (champion)':<38}"
    head += "".join(f"{b:<22}" for b in BASELINES)
    if with_ours:
        head += f"{'margin':>8} {'diff 95% CI':<17}{'half-w':>7}  within"
    print("AUC of pooled out-of-fold PDs [95% paired bootstrap interval]")
    print(head)
    for r in rows:
        line = f"{r['table']:<13}{r['rows']:>7,}{r['bad_rate']:>7.1%}  "
        if with_ours:
            line += f"{auc_cell(r['models']['ours']) + ' (' + r['champion'] + ')':<38}"
        line += "".join(f"{auc_cell(r['models'][b]) + ('*' if b == r['best_baseline'] else ''):<22}"
                        for b in BASELINES)
        if with_ours:
            line += (f"{r['margin']:>+8.3f} [{r['margin_low']:+.3f},{r['margin_high']:+.3f}]{r['half_width']:>7.3f}  "
                     f"{'ok' if r['within'] else 'BELOW'}")
        print(line)
    groups = {"mean": rows}
    if any(r["table"] in HELD_APART for r in rows) and any(r["table"] not in HELD_APART for r in rows):
        groups = {"mean": rows, "mean, chosen on": [r for r in rows if r["table"] not in HELD_APART],
                  "mean, held apart": [r for r in rows if r["table"] in HELD_APART]}
    for label, group in groups.items():
        print_mean(label, group, with_ours)
    print("* best baseline of the table; within: margin >= -(half-width of the best baseline's interval)")
    print()
    print("Log loss / Brier score of the same PDs")
    models = (["ours"] if with_ours else []) + list(BASELINES)
    print(f"{'table':<13}" + "".join(f"{m:<20}" for m in models))
    for r in rows:
        print(f"{r['table']:<13}" + "".join(
            f"{r['models'][m]['log_loss']:.4f} / {r['models'][m]['brier']:.4f}".ljust(20) for m in models))
    if with_ours:
        print("Our champion's PDs of exactly 0 or 1: " + ", ".join(
            f"{r['table']} {r['models']['ours']['exact_0_or_1']}" for r in rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=",".join(TABLES), help=f"Comma-separated (default all: {','.join(TABLES)}).")
    parser.add_argument("--quick", action="store_true", help="5 random-search draws instead of 20.")
    parser.add_argument("--baselines-only", action="store_true",
                        help="Skip credit train; baselines on the contract's folds (StratifiedKFold(5, shuffle, 0)).")
    parser.add_argument("--reuse-baselines", action="store_true",
                        help="Keep a table's baselines.json when its folds and draws are unchanged.")
    args = parser.parse_args()
    names = args.tables.split(",")
    unknown = sorted(set(names) - set(TABLES))
    if unknown:
        parser.error(f"unknown tables {unknown}; known: {', '.join(TABLES)}")
    draws = 5 if args.quick else 20
    with_ours = not args.baselines_only

    rows, started = [], time.perf_counter()
    for name in names:
        csv, folder = written(name), OUT / name
        folder.mkdir(parents=True, exist_ok=True)
        y = pd.read_csv(csv)[TARGET].to_numpy().astype(int)
        ours, champion, ours_seconds = {}, None, 0.0
        if with_ours:
            oof, champion, ours_seconds = train_ours(name, csv, folder)
            if not (oof["row"].to_numpy() == np.arange(len(y))).all() or not (oof["target"].to_numpy() == y).all():
                raise SystemExit(f"{name}: out_of_fold.csv rows/targets do not match the table in order")
            fold = oof["fold"]
            ours = {c: oof[c].to_numpy(float) for c in oof.columns if c not in ("row", "fold", "target")}
        else:
            fold = pd.Series(contract_folds(y, 0))
        tic = time.perf_counter()
        result = run_baselines(name, csv, folder, fold, draws, args.reuse_baselines)
        baseline_seconds = time.perf_counter() - tic
        row = compare(name, y, ours, champion, {b: np.asarray(result["models"][b]["pd"]) for b in BASELINES})
        row |= {"ours_seconds": ours_seconds, "baseline_seconds": baseline_seconds,
                "tuned_per_fold": result["lightgbm_tuned_per_fold"]}
        rows.append(row)
        ours_note = (f"credit train {ours_seconds:.0f} s, champion {champion}, candidates "
                     + ", ".join(f"{c} {a:.3f}" for c, a in row["candidates"].items()) + "; ") if with_ours else ""
        print(f"{name}: {len(y):,} rows; {ours_note}baselines "
              f"{'reused' if result['reused'] else f'{baseline_seconds:.0f} s'}", flush=True)
    print()
    print_comparison(rows, with_ours)
    print(f"\n{len(rows)} tables in {time.perf_counter() - started:.0f} s; random search {draws} draws")
    (OUT / "summary.json").write_text(json.dumps(rows, indent=1, default=float))


if __name__ == "__main__":
    main()
