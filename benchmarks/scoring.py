"""Batch scoring and the online path on a simulated marketplace in a SQLite store.

Simulates and ingests a marketplace, trains a small PD model on its panel and exports it,
then times :func:`credit.scoring.score_all` at one as-of date, and per call (a loop of
``--calls`` over different firms): :func:`latest_score`, :func:`score_features` on the
stored features, both, :func:`score_firm` when the snapshot is the model's own, and for
comparison :meth:`ServingModel.predict_pd` on a one-row DataFrame (the pandas path a model
server takes).

    .venv/bin/python benchmarks/scoring.py [--firms 2000] [--years 2] [--calls 2000] [--folder DIR]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=2000)
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--folder", type=Path, default=None, help="work folder (default: a temporary one)")
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.mkdtemp(prefix="scoring_bench_"))

    from credit.features.asof import monthly
    from credit.features.history import History
    from credit.features.panel import build_panel
    from credit.ingest import find_history_files, ingest_files
    from credit.models.pd_model import LightGBMPD
    from credit.models.reasons import feature_reason_codes
    from credit.models import REGISTERED_MODEL
    from credit.models.registry import write_serving_files
    from credit.models.serving import ServingModel
    from credit.scoring import latest_score, score_all, score_features, score_firm
    from credit.simulate import SimulationConfig, simulate
    from credit.store.engine import make_engine
    from migrations import upgrade

    start = date(2023, 1, 1)
    end = date(start.year + args.years, 1, 1)
    started = time.perf_counter()
    simulate(SimulationConfig(firms=args.firms, years=args.years, seed=7, start=start), folder / "history")
    engine = make_engine(f"sqlite:///{folder / 'store.db'}")
    upgrade(engine)
    ingest_files(engine, find_history_files([folder / "history"])[0])
    print(f"simulated and ingested {args.firms:,} firms x {args.years} years: {time.perf_counter() - started:.1f} s")

    panel = build_panel(History.from_store(engine), monthly(date(start.year, 4, 1), date(end.year - 1, 1, 1))).frame
    labelled = panel[panel["default_12m"].notna()]
    features = []
    for column in labelled.columns.drop(["firm_id", "as_of", "default_12m"]):
        try:
            feature_reason_codes([column])
            features.append(column)
        except ValueError:
            pass  # a feature without a reason code cannot be explained, so the model leaves it out
    day = labelled["as_of"].dt.date
    cut, calibrate = date(start.year, 10, 1), date(start.year, 11, 1)
    train, valid, held = labelled[day < cut], labelled[(day >= cut) & (day < calibrate)], labelled[day >= calibrate]
    model = LightGBMPD(params={"learning_rate": 0.1, "min_child_samples": 10}, num_boost_round=200,
                       early_stopping_rounds=30, calibration="isotonic").fit(
        train[features], train["default_12m"], X_valid=valid[features], y_valid=valid["default_12m"],
        X_calibrate=held[features], y_calibrate=held["default_12m"])
    categories = {c: train[c].cat.categories.tolist() for c in features if isinstance(train[c].dtype, pd.CategoricalDtype)}
    serving = write_serving_files(model, folder / "serving", categories=categories,
                                  version={"name": REGISTERED_MODEL, "version": "1", "alias": "champion", "run_id": "bench"})
    print(f"model: {len(features)} features, {model.best_iteration_} trees")

    as_of = date(end.year - 1, 12, 1)
    for attempt in ("first run", "re-run"):
        run = score_all(engine, serving, as_of)
        print(f"score_all ({attempt}): {run.rows:,} firms as of {as_of} in {run.seconds:.2f} s "
              f"(features {run.feature_seconds:.2f} s, scoring {run.scoring_seconds:.2f} s, "
              f"writing {run.writing_seconds:.2f} s, replaced {run.replaced:,})")

    champion = ServingModel.load(serving)
    with Session(engine) as session:
        firms = [int(f) for f in panel.loc[panel["as_of"].dt.date == as_of, "firm_id"]] or [1]
        calls = [firms[i % len(firms)] for i in range(args.calls)]
        snapshots = [latest_score(session, firm) for firm in firms]
        rows = [pd.DataFrame([s.features]).astype({n: float for n in champion.features if n not in champion.categories})
                for s in snapshots[:200]]

        timings = {}
        began = time.perf_counter()
        for firm in calls:
            latest_score(session, firm)
        timings["latest_score"] = time.perf_counter() - began
        began = time.perf_counter()
        for i in range(args.calls):
            score_features(champion, snapshots[i % len(snapshots)].features)
        timings["score_features"] = time.perf_counter() - began
        began = time.perf_counter()
        for firm in calls:
            snapshot = latest_score(session, firm)
            score_features(champion, snapshot.features)
        timings["latest_score + score_features"] = time.perf_counter() - began
        began = time.perf_counter()
        for firm in calls:
            score_firm(session, champion, firm)
        timings["score_firm (snapshot of this model)"] = time.perf_counter() - began
        began = time.perf_counter()
        for i in range(len(rows)):
            champion.predict_pd(rows[i])
        timings["predict_pd on a 1-row DataFrame"] = (time.perf_counter() - began) / len(rows) * args.calls
    print(f"per call, mean of {args.calls:,} calls (machine load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):")
    for name, seconds in timings.items():
        print(f"  {name:36s} {seconds / args.calls * 1e6:9.1f} us")


if __name__ == "__main__":
    main()
