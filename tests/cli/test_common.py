"""``--database-url`` (and its variable CREDIT_DATABASE_URL), the option every store command shares."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from credit.store.engine import make_engine
from tests.cli.invoke import assert_refused, credit

BAD_URL = "nosuchdb://somewhere/credit"

STORE_COMMANDS = [
    ["ingest", "{tmp}"],
    ["quarantine"],
    ["db", "upgrade"],
    ["db", "revision", "-m", "anything", "--branch", "audit"],
    ["features", "build", "--as-of", "2024-06-01", "--out", "{tmp}/features"],
    ["score", "--as-of", "2024-06-01", "--serving", "{tmp}"],
    ["monitor", "--panel", "{tmp}", "--serving", "{tmp}", "--training-from", "2024-01-01",
     "--training-to", "2024-06-01"],
    ["monitor", "book"],
    ["api-key", "create", "alice", "finance"],
    ["api-key", "list"],
    ["api-key", "revoke", "1"],
    ["ledger", "reconcile"],
    ["ledger", "expire-holds"],
    ["decisions", "show", "00000000-0000-0000-0000-000000000000"],
    ["decisions", "replay", "00000000-0000-0000-0000-000000000000"],
]


def _name(command: list[str]) -> str:
    words = [word for word in command if word[0].isalpha()]
    return " ".join(words[:2] if words[0] in ("db", "features", "api-key", "ledger", "decisions", "monitor") else words[:1])


@pytest.mark.parametrize("command", STORE_COMMANDS, ids=map(_name, STORE_COMMANDS))
def test_a_database_url_that_names_no_driver_is_refused_in_one_line(command: list[str], tmp_path: Path) -> None:
    (tmp_path / "payments.csv").write_text("payment_id,invoice_id,paid_at,amount_minor\n")  # so ingest has a file
    outcome = credit(*[part.format(tmp=tmp_path) for part in command], "--database-url", BAD_URL)
    assert_refused(outcome, f"cannot use database URL '{BAD_URL}'")
    assert len(outcome.output.strip().splitlines()) == 1


def test_the_credit_database_url_variable_stands_in_for_the_option(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'from-the-environment.db'}"
    outcome = credit("db", "upgrade", env={"CREDIT_DATABASE_URL": url})
    assert outcome.exit_code == 0, outcome.output
    engine = make_engine(url)
    assert "firms" in inspect(engine).get_table_names()
    engine.dispose()
