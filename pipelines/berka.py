"""Batch job: the Berka loans' labelled, point-in-time feature table, written as Parquet.

    python -m pipelines.berka [--data DIR] [--out FILE] [--cv]

Relative ``--data`` and ``--out`` paths are taken from the repository root, so the job runs
the same from any folder; the data default is ``../shared/data/berka`` beside the repository.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from credit.realdata.berka import (
    FEATURE_COLUMNS,
    LABEL_COLUMN,
    build_loan_table,
    cross_validated_auc,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path("../shared/data/berka")
DEFAULT_OUT = Path("var/berka/loans.parquet")
CV_REPEATS = 10


def _from_repo_root(path: Path) -> Path:
    return path if path.is_absolute() else (REPO_ROOT / path).resolve()


def main(argv: list[str] | None = None) -> None:
    """Build the table, write it, and with ``--cv`` print the cross-validated AUC."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="Berka folder (default ../shared/data/berka, from the repo root).")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="Parquet file to write (default var/berka/loans.parquet).")
    parser.add_argument("--cv", action="store_true",
                        help="Also print the 5-fold stratified AUC of a logistic regression.")
    args = parser.parse_args(argv)

    table = build_loan_table(_from_repo_root(args.data))
    out = _from_repo_root(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(out, index=False)
    counts = table.groupby("history_file")[LABEL_COLUMN].agg(["size", "sum"])
    print(f"{len(table)} loans, {int(table[LABEL_COLUMN].sum())} bad, "
          f"{len(FEATURE_COLUMNS)} features -> {out}")
    for history_file, row in counts.iterrows():
        print(f"  {history_file}: {row['size']} loans, {row['sum']} bad")

    if args.cv:
        folds = cross_validated_auc(table)
        print("5-fold stratified CV AUC, StandardScaler + LogisticRegression: "
              f"mean {folds.mean():.3f}; folds {', '.join(f'{auc:.3f}' for auc in folds)}")
        repeated = cross_validated_auc(table, n_repeats=CV_REPEATS)
        print(f"  over {CV_REPEATS} reshuffles of the 5 folds: mean {repeated.mean():.3f}, "
              f"sd {repeated.std():.3f} over {len(repeated)} folds")


if __name__ == "__main__":
    main()
