"""Run a ``credit`` command in process, as a user would type it, and read what it printed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from cli import app


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    output: str  # stdout and stderr as the terminal shows them
    exception: BaseException | None  # an exception the command let escape (a traceback for the user)

    @property
    def text(self) -> str:
        """The output with rich's line wrapping undone, to search for a sentence."""
        return " ".join(self.output.split())


def credit(*args: str | Path | int, env: dict[str, str] | None = None) -> Outcome:
    """``credit ARGS...`` on a wide terminal, so tables and messages are not wrapped mid-word."""
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "240", **(env or {})})
    escaped = result.exception if not isinstance(result.exception, SystemExit) else None
    return Outcome(result.exit_code, result.output, escaped)


def assert_refused(outcome: Outcome, *phrases: str) -> None:
    """A user's mistake: exit code 2, each phrase in the message, and no traceback."""
    assert outcome.exception is None, f"traceback instead of an error message: {outcome.exception!r}"
    assert outcome.exit_code == 2, outcome.output
    assert "Traceback" not in outcome.output
    for phrase in phrases:
        assert phrase in outcome.text, outcome.output
