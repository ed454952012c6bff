"""The suite's scheduler hands the longest unit out first (tests/workers.py)."""

from __future__ import annotations

from pathlib import Path

from tests.workers import SECONDS_PER_TEST, UNIT_SECONDS, longest, work_unit


def test_units_go_out_longest_first_and_a_unit_not_listed_counts_its_tests() -> None:
    queue = {
        "tests/audit": {"t": False},
        "tests/ingest": {f"t{i}": False for i in range(200)},  # not listed: 200 x 0.3 = 60 s
        "tests/standing": {"t": False},  # listed: 29 s
        "live-servers": {"t": False},  # listed: 543 s
    }
    order = []
    while queue:
        unit = longest(queue)
        order.append(unit)
        del queue[unit]
    assert order == ["live-servers", "tests/ingest", "tests/standing", "tests/audit"]
    assert "tests/ingest" not in UNIT_SECONDS and SECONDS_PER_TEST * 200 == 60


def test_every_listed_unit_is_a_unit_the_suite_has() -> None:
    # A unit renamed or split away would keep its old name here and order nothing.
    root = Path(__file__).resolve().parents[1]
    for unit in UNIT_SECONDS:
        if unit != "live-servers":
            assert (root / unit).exists(), unit
            assert work_unit(unit + ("::t" if unit.endswith(".py") else "/test_x.py::t")) == unit, unit
