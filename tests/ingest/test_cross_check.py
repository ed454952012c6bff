"""When the Great Expectations suite cross-checks the vectorised masks, and that it can fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from credit.ingest import rules
from credit.ingest.reading import read_chunks
from credit.ingest.rules import validator
from credit.store.frames import HISTORY
from tests.ingest.history import valid_history, write_csv


def _firms_chunk(tmp_path, **overrides):  # noqa: ANN001, ANN202
    firms = valid_history()["firms"]
    firms[0] = {**firms[0], **overrides}
    folder = write_csv(tmp_path, {"firms": firms})
    return next(read_chunks(folder / "firms.csv", HISTORY["firms"]))


@pytest.fixture
def suite_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records the frame length of every run of the suite (still running it)."""
    runs: list[int] = []
    original = rules.TableValidator._cross_check

    def recorded(self, frame, unexpected):  # noqa: ANN001, ANN202
        runs.append(len(frame))
        return original(self, frame, unexpected)

    monkeypatch.setattr(rules.TableValidator, "_cross_check", recorded)
    return runs


def test_a_small_file_every_mask_passes_is_judged_by_the_masks_alone(tmp_path, suite_runs):
    chunk = _firms_chunk(tmp_path)

    failures = validator("firms").failures(chunk.frame, chunk.parse_failed, cross_check=True)

    assert failures == {}
    assert suite_runs == []


def test_a_small_file_with_a_flagged_row_runs_the_suite(tmp_path, suite_runs):
    chunk = _firms_chunk(tmp_path, deposit_minor="-1")

    failures = validator("firms").failures(chunk.frame, chunk.parse_failed, cross_check=True)

    assert failures["non_negative:deposit_minor"].tolist() == [0]
    assert suite_runs == [4]


def test_a_bulk_chunk_runs_the_suite_even_when_every_mask_passes(tmp_path, suite_runs, monkeypatch):
    monkeypatch.setattr(rules, "GE_BULK_ROWS", 4)  # the 4 firms count as a bulk load
    chunk = _firms_chunk(tmp_path)

    validator("firms").failures(chunk.frame, chunk.parse_failed, cross_check=True)

    assert suite_runs == [4]


def test_a_mask_that_disagrees_with_the_suite_stops_the_load(tmp_path, monkeypatch):
    chunk = _firms_chunk(tmp_path, deposit_minor="-1")
    honest = rules.rule_masks

    def wrong(table, frame):  # noqa: ANN001, ANN202
        masks = honest(table, frame)
        masks["non_negative:deposit_minor"] = np.zeros(len(frame), bool)  # misses the bad row
        masks["allowed:region"] = np.ones(len(frame), bool)  # and flags good ones, so the suite runs
        return masks

    monkeypatch.setattr(rules, "rule_masks", wrong)

    with pytest.raises(RuntimeError, match=r"firms\.(non_negative:deposit_minor|allowed:region).*disagree"):
        validator("firms").failures(chunk.frame, chunk.parse_failed, cross_check=True)


def test_loading_small_clean_files_does_not_import_great_expectations(tmp_path):
    folder = write_csv(tmp_path / "history", valid_history())
    code = (
        "import sys\n"
        "from credit.ingest import find_history_files, ingest_files\n"
        "from credit.store.engine import make_engine\n"
        "from migrations import upgrade\n"
        f"engine = make_engine('sqlite:///{tmp_path / 'store.db'}')\n"
        "upgrade(engine)\n"
        f"results = ingest_files(engine, find_history_files([__import__('pathlib').Path({str(folder)!r})])[0])\n"
        "print(sum(r.loaded for r in results), 'great_expectations' in sys.modules)\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                               cwd=Path(__file__).resolve().parents[2])

    assert completed.stdout.split()[-2:] == [str(sum(len(rows) for rows in valid_history().values())), "False"]
