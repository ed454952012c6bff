"""Batch job: the Berka loans' labelled, point-in-time feature table, written as Parquet.

    python -m pipelines.berka [--data DIR] [--out FILE] [--cv] [--candidates]

Relative ``--data`` and ``--out`` paths are taken from the repository root, so the job runs
the same from any folder; the data default is ``../shared/data/berka`` beside the repository.
It also writes the table to bring to training (``<out>_training.parquet``: ``loan_id``, the
features, ``bad``); with ``--candidates`` it trains the PD candidates on it the way
``credit train --table`` does: stratified cross-validation, as it has no time column.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from credit.realdata.berka import (
    FEATURE_COLUMNS,
    LABEL_COLUMN,
    TRAINING_ID_COLUMN,
    build_loan_table,
    cross_validated_auc,
    training_table,
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
    parser.add_argument("--candidates", action="store_true",
                        help="Also print the cross-validated AUC of the three PD candidates with 95%% "
                             "bootstrap intervals.")
    args = parser.parse_args(argv)

    data = _from_repo_root(args.data)
    if not (data / "loan.asc").is_file():
        parser.exit(2, f"error: no Berka data in {data} (expected loan.asc there); pass --data DIR\n")
    table = build_loan_table(data)
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

    training = out.with_name(f"{out.stem}_training.parquet")
    training_table(table).to_parquet(training, index=False)
    print(f"Training table (id, features, label) -> {training}; train on it with:\n"
          f"  credit train --table {training} --target {LABEL_COLUMN} --id-col {TRAINING_ID_COLUMN}")

    if args.candidates:
        _print_candidates(training)


def _print_candidates(training: Path) -> None:
    # imported here: LightGBM and optbinning are slow to import and only this option needs them
    from credit.models.report import evaluation_report
    from credit.models.table_training import train_on_table
    from credit.models.tables import read_labelled_table

    trained = train_on_table(read_labelled_table(training, target=LABEL_COLUMN, id_column=TRAINING_ID_COLUMN))
    summary = evaluation_report(trained.evaluated, title="Berka loans", split_description=trained.split_description,
                                note=trained.note).summary.set_index("model")
    per_fold = trained.fold_auc().set_index("model")
    print(f"{trained.split_description}\n"
          "  AUC of the pooled out-of-fold PDs [95% bootstrap interval]; per-fold AUC mean ± sd:")
    for name, row in summary.iterrows():
        fold = per_fold.loc[name]
        print(f"  {name:<9} {row['auc']:.3f} [{row['auc_low']:.3f}, {row['auc_high']:.3f}]; "
              f"folds {fold['auc_mean']:.3f} ± {fold['auc_std']:.3f}")


if __name__ == "__main__":
    main()
