"""The evaluation report's bootstrap intervals on a 30,000-row table, as `credit train --table` computes them.

Builds four candidates' PDs on the same rows (the table path reports LightGBM, the scorecard,
the logistic model and the blend) and times :func:`credit.models.report.evaluation_report`
with the default 500 resamples against the same call with none: the difference is the time
of the intervals (AUC, Gini, KS, Brier and log loss for each model). Prints the times and
one model's intervals, so two versions of the code can be compared on the same numbers.

    .venv/bin/python benchmarks/bootstrap.py [--rows 30000] [--models 4] [--resamples 500]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--models", type=int, default=4)
    parser.add_argument("--resamples", type=int, default=500)
    args = parser.parse_args()

    from credit.models.report import EvaluatedModel, evaluation_report

    rng = np.random.default_rng(0)
    risk = rng.normal(size=args.rows)
    y = (rng.random(args.rows) < 1 / (1 + np.exp(-(1.5 * risk - 2)))).astype(int)
    models = [EvaluatedModel(f"model {k}", y, 1 / (1 + np.exp(-(risk + rng.normal(scale=0.5 + 0.2 * k, size=args.rows)
                                                                 - 2))))
              for k in range(args.models)]

    def timed(resamples: int) -> tuple[float, object]:
        started = time.perf_counter()
        report = evaluation_report(models, title="bootstrap benchmark", split_description="all rows",
                                   bootstrap_rows=resamples)
        return time.perf_counter() - started, report

    timed(0)  # imports and first-call costs out of the way
    without, _ = timed(0)
    with_intervals, report = timed(args.resamples)
    print(f"{args.rows:,} rows, {y.sum():,} defaults, {args.models} models, {args.resamples} resamples")
    print(f"report without intervals: {without:.2f} s; with: {with_intervals:.2f} s; "
          f"intervals: {with_intervals - without:.2f} s; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    first = report.summary.iloc[0]
    print("  ".join(f"{name} {first[name]:.6f} [{first[f'{name}_low']:.6f}, {first[f'{name}_high']:.6f}]"
                    for name in ("auc", "gini", "ks", "brier", "log_loss")))


if __name__ == "__main__":
    main()
