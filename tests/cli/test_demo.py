"""``credit demo`` refuses bad values before it simulates anything (test_demo_end_to_end.py runs it end to end)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.invoke import assert_refused, credit


@pytest.mark.parametrize(("arguments", "phrases"), [
    (["--start", "01/01/2023"], ["--start must be a date like 2023-01-01; got '01/01/2023'"]),
    (["--applicants", "0"], ["Invalid value for '--applicants'", "greater than or equal to 1"]),
    (["--port", "http"], ["Invalid value for '--port'"]),
    (["--years", "1"], ["Invalid value for '--years'", "greater than or equal to 3"]),
    (["--start", "2090-06-01", "--years", "3"], ["--start 2090-06-01 with --years 3 runs more than a month past now",
                                                 "give an earlier --start"]),
])
def test_demo_refuses_a_bad_value_before_simulating(arguments: list[str], phrases: list[str], tmp_path: Path) -> None:
    assert_refused(credit("demo", "--workdir", tmp_path / "demo", "--no-serve", *arguments), *phrases)
    assert not (tmp_path / "demo").exists()
