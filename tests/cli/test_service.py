"""``credit serve`` hands its options to the server; ``credit api-key list`` and ``revoke`` on a store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.kit.tables import ApiKey
from credit.store.engine import make_engine
from tests.cli.invoke import Outcome, assert_refused, credit

TIMESTAMP = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"


@pytest.fixture
def server_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """What `credit serve` asks the server for; the stand-in returns at once instead of serving until Ctrl-C."""
    calls: list[tuple] = []
    monkeypatch.setattr("api.app.serve", lambda settings, **options: calls.append((settings, options)))
    return calls


def test_serve_listens_where_host_and_port_say_with_workers_on_the_store(server_calls: list[tuple],
                                                                         tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    outcome = credit("serve", "--host", "0.0.0.0", "--port", 8123, "--workers", 3, "--database-url", url)
    assert outcome.exit_code == 0, outcome.output
    [(settings, options)] = server_calls
    assert options == {"host": "0.0.0.0", "port": 8123, "workers": 3}
    assert settings.resolved_database_url() == url


@pytest.mark.parametrize(("arguments", "phrases"), [
    (["--workers", "0"], ["Invalid value for '--workers'", "greater than or equal to 1"]),
    (["--port", "http"], ["Invalid value for '--port'"]),
    (["--port", "70000"], ["Invalid value for '--port'", "less than or equal to 65535"]),
])
def test_serve_refuses_bad_workers_and_ports_before_starting(arguments: list[str], phrases: list[str],
                                                             server_calls: list[tuple]) -> None:
    assert_refused(credit("serve", *arguments), *phrases)
    assert server_calls == []


def _key_line(listing: Outcome, name: str) -> str:
    [line] = [line for line in listing.output.splitlines() if f" {name} " in line]
    return line


def test_api_key_revoke_revokes_one_key_and_list_shows_it_revoked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    for name, role in (("alice@finance", "finance"), ("checkout-service", "checkout")):
        assert credit("api-key", "create", name, role, "--database-url", url).exit_code == 0
    engine = make_engine(url)
    with Session(engine) as session:
        alice = session.scalars(select(ApiKey.key_id).where(ApiKey.name == "alice@finance")).one()

    revoked = credit("api-key", "revoke", alice, "--database-url", url)
    listing = credit("api-key", "list", "--database-url", url)

    assert revoked.exit_code == 0, revoked.output
    assert re.search(rf"API key {alice} \(alice@finance, finance\) revoked at {TIMESTAMP}:\d{{2}}", revoked.text)
    assert listing.exit_code == 0, listing.output
    assert len(re.findall(TIMESTAMP, _key_line(listing, "alice@finance"))) == 2  # created and revoked
    assert len(re.findall(TIMESTAMP, _key_line(listing, "checkout-service"))) == 1  # created only
    with Session(engine) as session:
        assert {k.name: k.revoked_at is not None for k in session.scalars(select(ApiKey))} == {
            "alice@finance": True, "checkout-service": False}
    engine.dispose()


def test_api_key_list_of_an_empty_store_lists_nothing(tmp_path: Path) -> None:
    listing = credit("api-key", "list", "--database-url", f"sqlite:///{tmp_path / 'store.db'}")
    assert listing.exit_code == 0, listing.output
    assert not re.search(TIMESTAMP, listing.output)


@pytest.mark.parametrize(("key_id", "phrases"), [
    ("999", ["No API key 999."]),
    ("alice", ["Invalid value for 'key_id'", "valid integer"]),
])
def test_api_key_revoke_refuses_a_key_that_does_not_exist(key_id: str, phrases: list[str], tmp_path: Path) -> None:
    assert_refused(credit("api-key", "revoke", key_id, "--database-url", f"sqlite:///{tmp_path / 'store.db'}"),
                   *phrases)
