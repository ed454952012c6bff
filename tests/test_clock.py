"""The one clock: nothing else reads the wall clock, and the clocks tell the time they should."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from credit import clock

ROOT = Path(__file__).resolve().parents[1]
WALL_CLOCK = re.compile(r"\b(?:datetime\.(?:now|utcnow|today)|date\.today|Timestamp\.(?:now|utcnow|today)|"
                        r"time\.(?:time|time_ns|localtime|gmtime)|func\.(?:now|current_timestamp|current_date))"
                        r"\s*\(|datetime64\(\s*['\"](?:now|today)['\"]")


def test_nothing_but_the_clock_module_reads_the_wall_clock() -> None:
    readers = []
    for folder in ("credit", "api", "cli", "pipelines", "migrations", "benchmarks", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "credit" / "clock.py" or path == Path(__file__).resolve():
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if WALL_CLOCK.search(line):
                    readers.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert readers == []


def test_the_pattern_finds_each_way_of_reading_the_wall_clock() -> None:
    for line in ("x = datetime.now(UTC)", "datetime.utcnow()", "date.today()", "t = time.time()",
                 "datetime.today ()", "pd.Timestamp.now()", "time.time_ns()", "server_default=func.now()",
                 "np.datetime64('now')"):
        assert WALL_CLOCK.search(line), line
    for line in ("clock.now()", "perf_counter()", "the_date.today_flag", "time.monotonic()"):
        assert not WALL_CLOCK.search(line), line


def test_a_fixed_clock_stands_still_until_moved() -> None:
    fixed = clock.FixedClock(datetime(2028, 2, 29, 23, 59, 59))
    assert fixed.now() == fixed.now() == datetime(2028, 2, 29, 23, 59, 59)
    assert fixed.advance(timedelta(seconds=1)) == datetime(2028, 3, 1)
    fixed.set(datetime(2027, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1))))  # aware: converted to UTC
    assert fixed.now() == datetime(2027, 1, 1, 0, 0)


def test_frozen_installs_a_clock_for_the_block_and_puts_the_previous_one_back() -> None:
    before = clock.current()
    with clock.frozen(datetime(2027, 12, 31, 23, 0)) as fixed:
        assert clock.now() == datetime(2027, 12, 31, 23, 0)
        fixed.advance(timedelta(hours=2))
        assert clock.today().isoformat() == "2028-01-01"
    assert clock.current() is before


def test_a_shifted_clock_starts_where_it_is_told_and_ticks() -> None:
    shifted = clock.ShiftedClock(datetime(2028, 2, 29, 12, 0))
    first = shifted.now()
    assert datetime(2028, 2, 29, 12, 0) <= first < datetime(2028, 2, 29, 12, 0, 5)
    assert shifted.now() >= first


def test_the_system_clock_is_naive_utc() -> None:
    before = datetime.now(UTC).replace(tzinfo=None)
    read = clock.SystemClock().now()
    assert read.tzinfo is None
    assert before <= read <= datetime.now(UTC).replace(tzinfo=None)


def test_credit_now_starts_a_process_on_a_shifted_clock() -> None:
    code = "from credit import clock; print(clock.now().isoformat(), type(clock.current()).__name__)"
    env = {**os.environ, clock.ENVIRONMENT_VARIABLE: "2028-02-29T12:00:00+02:00"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    moment, kind = out.split()
    assert kind == "ShiftedClock"
    assert datetime(2028, 2, 29, 10, 0) <= datetime.fromisoformat(moment) < datetime(2028, 2, 29, 10, 1)


def test_a_bad_credit_now_names_the_variable_and_an_example() -> None:
    env = {**os.environ, clock.ENVIRONMENT_VARIABLE: "next tuesday"}
    run = subprocess.run([sys.executable, "-c", "import credit.clock"], env=env, capture_output=True, text=True)
    assert run.returncode != 0
    assert "CREDIT_NOW must be an ISO 8601 date or date and time such as 2028-02-29T12:00:00" in run.stderr
    assert "'next tuesday'" in run.stderr


def test_install_refuses_what_cannot_tell_the_time() -> None:
    with pytest.raises(TypeError, match="must have a now"):
        clock.install(object())  # type: ignore[arg-type]


def test_an_offset_clock_is_the_installed_clock_moved_and_ticks_with_it() -> None:
    with clock.frozen(datetime(2028, 2, 28, 23, 0)) as fixed:
        ahead = clock.OffsetClock(timedelta(days=1, hours=2))
        assert ahead.now() == datetime(2028, 3, 1, 1, 0)  # through 29 February
        fixed.advance(timedelta(minutes=5))
        assert ahead.now() == datetime(2028, 3, 1, 1, 5)


def test_running_on_moves_this_context_only_and_nests() -> None:
    import threading

    with clock.frozen(datetime(2027, 6, 1, 12, 0)):
        seen_elsewhere = []
        with clock.running_on(clock.OffsetClock(timedelta(days=10))) as outer:
            assert clock.now() == datetime(2027, 6, 11, 12, 0) and clock.today().isoformat() == "2027-06-11"
            assert clock.current().now() == datetime(2027, 6, 1, 12, 0)  # the installed clock is untouched
            other = threading.Thread(target=lambda: seen_elsewhere.append(clock.now()))  # a new thread: no context
            other.start()
            other.join()
            with clock.running_on(clock.FixedClock(datetime(2030, 1, 1))):
                assert clock.now() == datetime(2030, 1, 1)
            assert clock.now() == outer.now() == datetime(2027, 6, 11, 12, 0)
        assert clock.now() == datetime(2027, 6, 1, 12, 0)
        assert seen_elsewhere == [datetime(2027, 6, 1, 12, 0)]


def test_running_on_reaches_the_work_starlette_hands_to_its_thread_pool() -> None:
    import anyio
    from starlette.concurrency import run_in_threadpool

    async def in_the_pool() -> tuple[datetime, datetime]:
        with clock.running_on(clock.FixedClock(datetime(2029, 3, 1))):
            inside = await run_in_threadpool(clock.now)
        outside = await run_in_threadpool(clock.now)
        return inside, outside

    with clock.frozen(datetime(2027, 1, 1)):
        assert anyio.run(in_the_pool) == (datetime(2029, 3, 1), datetime(2027, 1, 1))
    with pytest.raises(TypeError, match="now"):
        with clock.running_on(object()):  # type: ignore[arg-type]
            pass
