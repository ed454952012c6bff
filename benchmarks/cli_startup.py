"""How long ``credit`` takes, and how much memory, to answer help and a wrong argument.

Runs each invocation as a fresh process (``python -m cli ...``, as the installed ``credit``
script runs it) in an empty temporary folder, and prints its wall time and peak RSS, read
from the child's own resource usage. Nothing is asserted: the times are for a reader.

    .venv/bin/python benchmarks/cli_startup.py [--repeat 3] [--root CHECKOUT]

``--root`` measures another checkout (one with ``cli/__main__.py``), e.g. before a change.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

INVOCATIONS = [
    ["--help"],
    ["train", "--help"],
    ["train", "--table", "missing.csv", "--target", "y"],  # the file does not exist
    ["train", "--no-such-option"],
]


def run_once(arguments: list[str], root: Path, folder: Path) -> tuple[int, float, int]:
    """Exit code, wall seconds and peak RSS (KB, Linux) of one ``python -m cli ARGUMENTS`` of ``root`` in ``folder``."""
    environment = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "100"}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "cli", *arguments], cwd=folder, env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    return os.waitstatus_to_exitcode(status), seconds, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each invocation; the fastest is printed")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1],
                        help="the checkout whose cli is run (default: this one)")
    args = parser.parse_args()
    print(f"{'credit ...':<50} {'exit':>4} {'wall s':>7} {'peak RSS MB':>11}")
    with tempfile.TemporaryDirectory(prefix="cli_startup_") as folder:
        for arguments in INVOCATIONS:
            runs = [run_once(arguments, args.root.resolve(), Path(folder)) for _ in range(args.repeat)]
            code = runs[0][0]
            seconds = min(run[1] for run in runs)
            peak = max(run[2] for run in runs)
            print(f"{' '.join(arguments):<50} {code:>4} {seconds:>7.2f} {peak / 1024:>11.0f}")


if __name__ == "__main__":
    main()
