"""PD training and batch scoring on Dask against one process, on a simulated panel of N firms.

    .venv/bin/python benchmarks/dask_training.py [--firms 12500] [--workers 2]

1. Simulates (once, then reused) N firms x 3 years (seed 7) under benchmarks/out, and builds
   (once) the monthly panel 2024-01-01 .. 2025-01-01: the 13 as-of dates whose 12-month
   outcome the history holds.
2. In a fresh process, trains the LightGBM PD model as ``credit train`` does (model.toml's
   parameters, rounds and windows: rounds found on held-out firms, refitted, calibrated) and
   scores every firm of the last as-of date with it (PD, reason codes, feature records): wall
   time, CPU time and the process's peak RSS.
3. In another fresh process, the same on a local Dask cluster of ``--workers`` workers (the
   workers read the panel file in row ranges, one per row group, and the driver never holds
   it; the scoring maps the single-process model over those ranges of the last as-of date,
   so its rows can be compared one for one): wall and CPU time of the driver and of each worker, the
   driver's peak RSS, and per worker the peak of the memory the scheduler reports for it
   (sampled every 0.1 s) and the worker process's own peak RSS.
4. Compares the two models (rounds, test-window AUC, PDs) and the two sets of score rows.

Nothing here is an estimate: every number is printed by the run.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
AS_OF = (date(2024, 1, 1), date(2025, 1, 1))


def panel_folder(firms: int) -> Path:
    from credit.features.asof import monthly
    from credit.features.history import History
    from credit.features.panel import build_panel, write_panel

    folder = OUT / f"panel{firms}"
    if (folder / "manifest.json").is_file():
        print(f"panel: reusing {folder}")
        return folder
    from benchmarks.histories import simulated

    history = simulated(firms)
    started = time.perf_counter()
    write_panel(build_panel(History.from_parquet(history), monthly(*AS_OF)), folder)
    print(f"panel: built {len(monthly(*AS_OF))} as-of dates in {time.perf_counter() - started:.1f} s -> {folder}")
    return folder


def explained(columns: list[str]) -> list[str]:
    """The features with a reason code: a served model explains every score with them."""
    from credit.models.reasons import feature_reason_codes

    kept = []
    for column in columns:
        try:
            feature_reason_codes([column])
        except ValueError:
            continue
        kept.append(column)
    return kept


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def sample_worker_memory(client, peaks: dict[str, float]) -> tuple[threading.Event, threading.Thread]:  # noqa: ANN001
    """Keep in ``peaks`` the highest process memory the scheduler reports per worker (every 0.1 s) until the event is set."""
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for address, info in client.scheduler_info()["workers"].items():
                peaks[address] = max(peaks.get(address, 0), info["metrics"]["memory"])
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    return stop, sampler


def own_peak_rss_kb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def worker_peak_rss_mb(client) -> list[float]:  # noqa: ANN001
    """Each worker process's own peak RSS (MB), by /proc's VmHWM.

    Not ``ru_maxrss``: on Linux a process started by fork and exec keeps the peak of the
    process that forked it there, so every worker would show at least the driver's peak at
    the cluster's start; VmHWM belongs to the process's own memory and starts anew at exec.
    """
    return [v / 1024 for v in client.run(own_peak_rss_kb).values()]


def test_pds(part, model, features: list[str], label: str, dates: list) -> pd.DataFrame:  # noqa: ANN001
    """The PD and label of each row of ``part`` at the test window's dates (a task over the panel's partitions)."""
    test = part[pd.to_datetime(part["as_of"]).dt.date.isin(dates)]
    return pd.DataFrame({"pd": model.predict_proba(test[features])[:, 1] if len(test) else np.empty(0),
                         "y": test[label].astype(int).to_numpy()})


def run(mode: str, folder: Path, workers: int, out: Path, memory_limit: str = "auto",
        score_with_single: bool = True) -> dict:
    """Train and score in this process (``mode`` "single") or on Dask ("dask"); save the model and rows to ``out``.

    In this process the panel is read whole; on Dask it is never read here: each worker's
    tasks read their own rows of the panel file (:func:`credit.features.panel.read_panel_dask`)
    for the training, the test-window PDs and the scoring, and only the as-of column, the
    booster, the test PDs and the score rows come back. On Dask each worker gets
    ``memory_limit`` (Dask's syntax, "auto" for its default); the scoring uses the
    single-process model saved in ``out`` if ``score_with_single``, else the model just
    trained. Worker peaks are reported for training (``train_worker_*``) and then, sampled by
    the scheduler, for the scoring alone (``worker_peak_memory_mb``) and, by RSS, for training
    and scoring together (``worker_peak_rss_mb``).
    """
    from credit.features.panel import read_panel, read_panel_dask
    from credit.models.config import load_model_config
    from credit.models.registry import write_serving_files
    from credit.models.serving import ServingModel
    from credit.models.splits import latest_windows
    from credit.models.training import train_lightgbm
    from credit.scoring.batch import score_rows_dask, scored_rows

    config = load_model_config()
    label = config.training.label
    options = {"num_boost_round": config.training.num_boost_round,
               "early_stopping_rounds": config.training.early_stopping_rounds,
               "calibration": config.training.calibration}
    if mode == "dask":
        manifest, _ = read_panel_dask(folder, label, columns=[])
        features = explained(manifest.feature_columns)
        _, rows = read_panel_dask(folder, label, features, observed=True)
        _, every_row = read_panel_dask(folder, label, features)
        scoring_day = pd.Timestamp(max(day for day, n in manifest.manifest["rows_by_as_of"].items() if n["rows"]))
        categories = {c: rows._meta[c].cat.categories.tolist() for c in features
                      if isinstance(rows._meta[c].dtype, pd.CategoricalDtype)}
    else:
        whole = read_panel(folder, label)
        observed = whole.observed()
        frame = observed.frame
        features = explained(observed.feature_columns)
        scoring_day = whole.frame["as_of"].max()
        scoring_frame = whole.frame[whole.frame["as_of"] == scoring_day].reset_index(drop=True)
        categories = {c: frame[c].cat.categories.tolist() for c in features
                      if isinstance(frame[c].dtype, pd.CategoricalDtype)}
        del whole
    result: dict = {"features": len(features)}

    client = cluster = sampler = None
    peaks: dict[str, float] = {}
    if mode == "dask":
        from distributed import Client, LocalCluster

        started = time.perf_counter()
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               memory_limit=memory_limit)
        client = Client(cluster)
        result["cluster_start_seconds"] = time.perf_counter() - started
        result["worker_memory_limit_mb"] = [info["memory_limit"] / 2**20
                                            for info in client.scheduler_info()["workers"].values()]
        stop, sampler = sample_worker_memory(client, peaks)
        worker_cpu_start = client.run(cpu_seconds)

    started, cpu = time.perf_counter(), cpu_seconds()
    if client is None:
        split = latest_windows(frame["as_of"], **vars(config.windows))
        model = train_lightgbm(frame, features, label, split, lightgbm_params=dict(config.lightgbm),
                               lightgbm_options=options, random_state=config.training.random_state)
    else:
        from credit.models.distributed import train_lightgbm_dask

        # the as-of dates of the labelled rows, to place the windows: the one column read here
        split = latest_windows(rows["as_of"].compute(), **vars(config.windows))
        model = train_lightgbm_dask(rows, features, label, split, client=client, lightgbm_params=dict(config.lightgbm),
                                    lightgbm_options=options, random_state=config.training.random_state)
    result["train_seconds"], result["train_cpu_seconds"] = time.perf_counter() - started, cpu_seconds() - cpu
    result["rows"] = len(split.train)
    result["windows"] = {name: int(getattr(split, name).sum()) for name in ("train", "valid", "calibrate", "test")}
    if client is not None:
        worker_cpu_trained = client.run(cpu_seconds)
        result["train_worker_cpu_seconds"] = [worker_cpu_trained[a] - worker_cpu_start[a] for a in worker_cpu_start]
        result["train_worker_peak_memory_mb"] = [peaks[a] / 2**20 for a in sorted(peaks)]
        result["train_worker_peak_rss_mb"] = worker_peak_rss_mb(client)
        peaks.clear()  # from here the sampled peaks are the scoring's own
    result["train_peak_rss_mb"] = own_peak_rss_kb() / 1024
    result["rounds"] = int(model.best_iteration_)

    serving = write_serving_files(model, out / f"serving-{mode}", categories=categories,
                                  version={"name": "credit_pd", "version": mode, "alias": "champion", "run_id": mode})
    # both runs score with the single-process model, so their rows must be equal whatever the trees
    serving_model = ServingModel.load(out / "serving-single" if client is not None and score_with_single else serving)
    scored_at = pd.Timestamp("2025-01-01").to_pydatetime()
    started, cpu = time.perf_counter(), cpu_seconds()
    if client is None:
        score_rows = scored_rows(scoring_frame, serving_model, scoring_day.date(), scored_at)
    else:
        worker_cpu_start = client.run(cpu_seconds)
        score_rows = score_rows_dask(every_row[every_row["as_of"] == scoring_day], serving_model, scoring_day.date(),
                                     scored_at, 4, client)
        worker_cpu_scored = client.run(cpu_seconds)
        result["score_worker_cpu_seconds"] = [worker_cpu_scored[a] - worker_cpu_start[a] for a in worker_cpu_start]
    result["score_seconds"], result["score_cpu_seconds"] = time.perf_counter() - started, cpu_seconds() - cpu
    result["scoring_rows"] = len(score_rows)

    if client is None:
        test = frame[split.test]
        pd_test, y_test = model.predict_proba(test[features])[:, 1], test[label].astype(int).to_numpy()
    else:
        stop.set()
        sampler.join()
        result["worker_peak_memory_mb"] = [peaks[a] / 2**20 for a in sorted(peaks)]
        result["worker_peak_rss_mb"] = worker_peak_rss_mb(client)
        # the test window's PDs on the workers too, in the panel's order (after the measured stages)
        tested = rows.map_partitions(test_pds, model, features, label, split.dates["test"],
                                     meta={"pd": "f8", "y": "i8"}).compute()
        pd_test, y_test = tested["pd"].to_numpy(), tested["y"].to_numpy()
        client.close()
        cluster.close()
    result["peak_rss_mb"] = own_peak_rss_kb() / 1024
    np.save(out / f"pd_test-{mode}.npy", pd_test)
    np.save(out / f"y_test-{mode}.npy", y_test)
    with open(out / f"rows-{mode}.pickle", "wb") as file:
        pickle.dump(score_rows, file)
    return result


def child(mode: str, folder: Path, workers: int, out: Path) -> dict:
    """:func:`run` in a fresh process, so its peak RSS is its own."""
    code = (f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); from pathlib import Path; "
            f"sys.argv = ['dask_training']; import benchmarks.dask_training as b\n"
            f"if __name__ == '__main__':\n"
            f"    print('RESULT ' + json.dumps(b.run({mode!r}, Path({str(folder)!r}), {workers}, Path({str(out)!r}))))")
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, cwd=ROOT)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    if result.returncode or not lines:
        sys.exit(f"{mode} run failed:\n{result.stderr[-4000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def compare(out: Path) -> None:
    from sklearn.metrics import roc_auc_score

    y = np.load(out / "y_test-single.npy")
    single, dask_pd = np.load(out / "pd_test-single.npy"), np.load(out / "pd_test-dask.npy")
    print(f"test window: {len(y):,} rows, {int(y.sum()):,} defaults; AUC single {roc_auc_score(y, single):.4f}, "
          f"dask {roc_auc_score(y, dask_pd):.4f}; PDs equal: {int((single == dask_pd).sum()):,} of {len(y):,}, "
          f"max |difference| {np.abs(single - dask_pd).max():.3g}, correlation {np.corrcoef(single, dask_pd)[0, 1]:.4f}")
    trees = [(out / f"serving-{mode}" / "model.lgb").read_text().split("end of trees")[0] for mode in ("single", "dask")]
    print(f"trees: {'identical' if trees[0] == trees[1] else 'differ'} (model text up to 'end of trees')")
    rows = {mode: pickle.loads((out / f"rows-{mode}.pickle").read_bytes()) for mode in ("single", "dask")}
    equal = sum(a == b for a, b in zip(rows["single"], rows["dask"], strict=True))
    print(f"score rows (both with the single-process model): {equal:,} of {len(rows['single']):,} equal "
          f"(firm, PD, features, reason codes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=12_500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reuse-single", action="store_true",
                        help="take the single-process run from the last run's files instead of running it again")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    print(f"load average at start {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    folder = panel_folder(args.firms)
    out = OUT / f"dask_training{args.firms}"
    out.mkdir(parents=True, exist_ok=True)
    if args.reuse_single and (out / "result-single.json").is_file():
        single = json.loads((out / "result-single.json").read_text())
        print(f"single process: reusing the run saved in {out}")
    else:
        single = child("single", folder, args.workers, out)
        (out / "result-single.json").write_text(json.dumps(single))
    print(f"panel: {single['rows']:,} labelled rows x {single['features']} features; windows {single['windows']}")
    print(f"single process: train {single['train_seconds']:.1f} s (CPU {single['train_cpu_seconds']:.1f} s), "
          f"{single['rounds']} rounds; score {single['scoring_rows']:,} firms {single['score_seconds']:.2f} s "
          f"(CPU {single['score_cpu_seconds']:.2f} s); peak RSS {single['peak_rss_mb']:,.0f} MB")
    print(f"load average after single {os.getloadavg()[0]:.2f}")
    on_dask = child("dask", folder, args.workers, out)
    fmt = lambda values, spec: "[" + ", ".join(format(v, spec) for v in values) + "]"  # noqa: E731
    print(f"dask, {args.workers} workers (cluster start {on_dask['cluster_start_seconds']:.1f} s, not counted; "
          f"memory limit per worker {fmt(on_dask['worker_memory_limit_mb'], ',.0f')} MB):")
    print(f"  train {on_dask['train_seconds']:.1f} s (driver CPU {on_dask['train_cpu_seconds']:.1f} s, worker CPU "
          f"{fmt(on_dask['train_worker_cpu_seconds'], '.1f')} s), {on_dask['rounds']} rounds")
    print(f"  score {on_dask['scoring_rows']:,} firms {on_dask['score_seconds']:.2f} s (driver CPU "
          f"{on_dask['score_cpu_seconds']:.2f} s, worker CPU {fmt(on_dask['score_worker_cpu_seconds'], '.2f')} s)")
    print(f"  peak memory per worker (scheduler metric) training {fmt(on_dask['train_worker_peak_memory_mb'], ',.0f')} "
          f"MB, scoring {fmt(on_dask['worker_peak_memory_mb'], ',.0f')} MB, "
          f"worker peak RSS {fmt(on_dask['worker_peak_rss_mb'], ',.0f')} MB, driver peak RSS "
          f"{on_dask['peak_rss_mb']:,.0f} MB")
    compare(out)
    print(f"ratios dask/single: train wall {on_dask['train_seconds'] / single['train_seconds']:.2f}, "
          f"score wall {on_dask['score_seconds'] / single['score_seconds']:.2f}")
    print(f"load average at end {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
