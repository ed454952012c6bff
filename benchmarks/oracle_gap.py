"""Oracle-gap benchmark (issue 4): the PD candidates' out-of-time AUC against the simulator's true PD.

    .venv/bin/python benchmarks/oracle_gap.py [--firms 4000 --years 4 --seeds 7,11,13] [--test-months 6]

1. Simulates the marketplace (cached under ``benchmarks/out/oracle_gap/``; the folder name
   carries a hash of the simulator's source, so a changed simulator is simulated afresh).
2. Builds the monthly panel from the first month start with every feature window complete
   (the start plus the longest window, :func:`credit.features.panel.first_complete_as_of`) to
   the last month whose 12-month outcome is known.
3. Splits it out of time from the latest labelled month backwards with the model
   configuration's windows (``--config``, default ``credit/models/model.toml``; ``--test-months``
   overrides the test window) and trains the LightGBM champion, the scorecard and the logistic
   baseline with its parameters through :func:`credit.models.training.train_on_panel`.
4. Prints the test rows and defaults, each candidate's AUC, the oracle's AUC (the true
   ``pd_12m`` of the same rows) and the gap, and the oracle on the test rows of healthy
   firms only, and the oracle blind to distress begun since the previous month end (those firms
   get their true PD of that month end, when they were healthy): the truth knows a firm is in
   distress before anything is observable, and this oracle bounds what a model can reach.
5. With several ``--seeds`` (one history each, same size and start), ends with one table:
   seed, test rows, defaults, the champion's and the oracle's AUC, and the gap with its
   paired 95% bootstrap interval (model and oracle resampled on the same rows), and the blind
   oracle's AUC with its gap to the champion.

``--lightgbm-params '{"num_leaves": 7}'`` and ``--lightgbm-options '{"num_boost_round": 300}'``
pass through to ``train_on_panel`` to try model-side changes; ``--validation`` leaves the test
window out and evaluates on the months before it, so that such a change is chosen without
looking at the test window.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "out" / "oracle_gap"
HORIZON_MONTHS = 12
BOOTSTRAP_RESAMPLES = 1000


def simulator_fingerprint() -> str:
    """Short hash of the simulator's source: a cached history is reused only from the same simulator."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "credit" / "simulate").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


def simulated(firms: int, years: int, seed: int, start: date) -> Path:
    from credit.simulate import SimulationConfig, simulate

    folder = OUT / f"sim-{firms}x{years}y-seed{seed}-{start.isoformat()}-{simulator_fingerprint()}"
    if (folder / "manifest.json").is_file():
        print(f"history: reusing {folder.relative_to(ROOT)}")
        return folder
    started = time.perf_counter()
    summary = simulate(SimulationConfig(firms=firms, years=years, seed=seed, start=start), folder)
    print(f"history: simulated {firms:,} firms x {years} years (seed {seed}) in {time.perf_counter() - started:.1f} s, "
          f"{summary.defaulted_firms:,} defaulted -> {folder.relative_to(ROOT)}")
    return folder


def seed_list(text: str) -> list[int]:
    """``7,11,13`` -> [7, 11, 13]; a clear error for anything else."""
    try:
        seeds = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seeds takes whole numbers separated by commas, e.g. 7,11,13; got {text!r}")
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"--seeds repeats a seed: {text!r}")
    return seeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=4000)
    parser.add_argument("--years", type=int, default=4)
    parser.add_argument("--seeds", type=seed_list, default=[7], help="simulation seeds, comma-separated (default 7, "
                        "the demo's); one history and one row of the final table each")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2023, 1, 1))
    parser.add_argument("--history-end", type=date.fromisoformat, default=None,
                        help="read the history as it stood on this day (YYYY-MM-DD), as the demo reads it as of now: "
                             "the panel ends at the last month whose 12-month outcome is known by then (default: "
                             "the end of the simulated years)")
    parser.add_argument("--config", type=Path, default=None, help="model configuration (default: credit/models/model.toml)")
    parser.add_argument("--test-months", type=int, default=None, help="override the configuration's test window")
    parser.add_argument("--no-scorecard", action="store_true", help="skip the scorecard (the slowest candidate)")
    parser.add_argument("--validation", action="store_true", help="leave the test window's months out and evaluate "
                        "on the months before them (every window moved back by the test window): to choose model "
                        "settings without looking at the test window")
    parser.add_argument("--lightgbm-params", type=json.loads, default=None)
    parser.add_argument("--lightgbm-options", type=json.loads, default=None)
    args = parser.parse_args()

    rows = []
    for seed in args.seeds:
        print(f"\n=== seed {seed} ===")
        started = time.perf_counter()
        rows.append(one_seed(args, seed) | {"seconds": time.perf_counter() - started})
    read = f", read as of {args.history_end}" if args.history_end else ""
    print(f"\n{args.firms:,} firms x {args.years} years from {args.start}{read}; champion: LightGBM; gap = oracle AUC - "
          f"champion AUC, paired 95% bootstrap interval ({BOOTSTRAP_RESAMPLES} resamples of the test rows); blind oracle: "
          "the true PD blind to distress begun since the previous month end, and its gap to the champion")
    print(f"{'seed':>5} {'test rows':>10} {'defaults':>9} {'champion AUC':>13} {'oracle AUC':>11} "
          f"{'gap':>8}  {'95% interval':<18} {'blind oracle':>12} {'gap':>8} {'seconds':>8}")
    for row in rows:
        print(f"{row['seed']:>5} {row['rows']:>10,} {row['defaults']:>9,} {row['champion']:>13.4f} {row['oracle']:>11.4f} "
              f"{row['gap']:>+8.4f}  [{row['low']:+.4f}, {row['high']:+.4f}]  {row['blind']:>12.4f} "
              f"{row['blind'] - row['champion']:>+8.4f} {row['seconds']:>8.0f}")


def one_seed(args: argparse.Namespace, seed: int) -> dict:
    """Simulate (or reuse) one history, train on its panel, print the candidates; the champion's row of the table."""
    from credit.features.asof import monthly
    from credit.features.history import History
    from credit.features.labels import add_months
    from credit.features.panel import build_panel, first_complete_as_of
    from credit.models.config import load_model_config
    from credit.models.metrics import auc, bootstrap_auc_difference
    from credit.models.splits import latest_windows
    from credit.models.training import oracle_pd, train_on_panel

    folder = simulated(args.firms, args.years, seed, args.start)
    end = args.history_end or add_months(args.start, 12 * args.years)
    as_of = monthly(first_complete_as_of(args.start), add_months(end, -HORIZON_MONTHS))
    started = time.perf_counter()
    panel = build_panel(History.from_parquet(folder), as_of, horizon_months=HORIZON_MONTHS)
    label = panel.manifest["label_column"]
    features = panel.manifest["feature_columns"]
    frame = panel.frame[panel.frame[label].notna()].reset_index(drop=True)
    print(f"panel: {len(frame):,} labelled rows, {len(features)} features, as-of {as_of[0]} .. {as_of[-1]}, "
          f"built in {time.perf_counter() - started:.1f} s")

    config = load_model_config(args.config)
    windows = vars(config.windows) | ({"test_months": args.test_months} if args.test_months else {})
    if args.validation:
        months = sorted(frame["as_of"].unique())
        frame = frame[frame["as_of"] < months[-windows["test_months"]]].reset_index(drop=True)
        print(f"validation: the test window's {windows['test_months']} months left out; the windows move back by them")
    split = latest_windows(frame["as_of"], **windows)
    dates = split.dates
    print(f"split: train {dates['train'][0]} .. {dates['train'][-1]}, valid {dates['valid'][0]} .. "
          f"{dates['valid'][-1]}, calibrate {dates['calibrate'][0]} .. {dates['calibrate'][-1]}, "
          f"test {dates['test'][0]} .. {dates['test'][-1]}")
    started = time.perf_counter()
    options = {"num_boost_round": config.training.num_boost_round,
               "early_stopping_rounds": config.training.early_stopping_rounds,
               "calibration": config.training.calibration}
    trained = train_on_panel(frame, features, label, split, lightgbm_params=config.lightgbm | (args.lightgbm_params or {}),
                             lightgbm_options=options | (args.lightgbm_options or {}), with_scorecard=not args.no_scorecard,
                             random_state=config.training.random_state)
    champion = trained.models["lightgbm"]
    print(f"trained in {time.perf_counter() - started:.1f} s; LightGBM refitted with {champion.best_iteration_} rounds "
          "(found on held-out firms)")

    test = frame[split.test]
    y_test = test[label].astype(int).to_numpy()
    true_pd = oracle_pd(test, folder / "truth")
    oracle_auc = auc(y_test, true_pd)
    print(f"\ntest rows {len(test):,}  defaults {int(y_test.sum()):,}  distinct defaulting firms "
          f"{test.loc[y_test == 1, 'firm_id'].nunique():,}")
    for evaluated in trained.evaluated:
        model_auc = auc(evaluated.y_test, evaluated.pd_test)
        print(f"  {evaluated.name:<10} AUC {model_auc:.4f}   gap to oracle {oracle_auc - model_auc:+.4f}")
    print(f"  {'oracle':<10} AUC {oracle_auc:.4f}")
    healthy = true_pd < 1.0
    healthy_auc = auc(y_test[healthy], true_pd[healthy])
    print(f"  oracle on the {int(healthy.sum()):,} rows of firms not yet in distress: AUC {healthy_auc:.4f} "
          f"({int((~healthy).sum()):,} rows already distressed, true PD 1)")

    blind = blind_to_new_distress(test, true_pd, folder / "truth")
    print(f"  oracle blind to distress begun since the previous month end: AUC {auc(y_test, blind):.4f} "
          f"({int((blind != true_pd).sum()):,} rows get the firm's healthy true PD of the month before)")

    champion_pd = next(e.pd_test for e in trained.evaluated if e.name == "lightgbm")
    # paired: the oracle and the champion are judged on the same resampled rows
    point, low, high, _ = bootstrap_auc_difference(y_test, true_pd, champion_pd, n=BOOTSTRAP_RESAMPLES)
    return {"seed": seed, "rows": len(test), "defaults": int(y_test.sum()), "champion": auc(y_test, champion_pd),
            "oracle": oracle_auc, "gap": point, "low": low, "high": high, "blind": auc(y_test, blind)}


def blind_to_new_distress(test, true_pd: np.ndarray, truth: Path) -> np.ndarray:  # noqa: ANN001 - a panel frame
    """The true PD, except for firms distressed since the previous month end: their true PD of that month end.

    Such a firm has had no time to leave an unpaid invoice overdue where a healthy late payer
    would not, so no feature can know of its distress yet; this oracle bounds what one can reach.
    """
    import pandas as pd

    states = pd.read_parquet(truth / "firm_month.parquet", columns=["firm_id", "month_end", "pd_12m", "distressed"])
    states["as_of"] = (states["month_end"] + pd.offsets.MonthBegin(1)).astype("datetime64[us]")
    rows = test[["firm_id", "as_of"]].astype({"as_of": "datetime64[us]"}).reset_index(drop=True)
    before = rows.merge(states[["firm_id", "as_of", "pd_12m", "distressed"]], on=["firm_id", "as_of"], how="left")
    newly = (true_pd >= 1.0) & (before["distressed"].to_numpy() == False)  # noqa: E712 - NaN (no month before) is not False
    return np.where(newly, before["pd_12m"].to_numpy(), true_pd)


if __name__ == "__main__":
    main()
