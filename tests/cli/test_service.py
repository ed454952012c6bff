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


def test_api_key_rotate_issues_a_new_key_of_the_same_client_and_keeps_the_old_until_revoked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    created = credit("api-key", "create", "storefront", "checkout", "--client", "marketplace-checkout",
                     "--database-url", url)
    assert created.exit_code == 0, created.output
    assert "API key 1 for storefront (checkout, client marketplace-checkout)" in created.text

    rotated = credit("api-key", "rotate", 1, "--database-url", url)

    assert rotated.exit_code == 0, rotated.output
    assert ("API key 2 replaces key 1 for storefront (checkout, client marketplace-checkout); revoke key 1 once it "
            "is deployed.") in rotated.text
    plaintext = rotated.output.strip().splitlines()[-1]
    engine = make_engine(url)
    with Session(engine) as session:
        keys = session.scalars(select(ApiKey).order_by(ApiKey.key_id)).all()
        assert [(k.key_id, k.name, k.client, k.role, k.revoked_at) for k in keys] == [
            (1, "storefront", "marketplace-checkout", "checkout", None),
            (2, "storefront", "marketplace-checkout", "checkout", None)]
        assert plaintext.startswith("mck_") and keys[1].prefix == plaintext[:12]
    engine.dispose()
    listing = credit("api-key", "list", "--database-url", url).output
    assert sum(" storefront " in line and " marketplace-checkout " in line for line in listing.splitlines()) == 2
    assert credit("api-key", "revoke", 1, "--database-url", url).exit_code == 0
    assert_refused(credit("api-key", "rotate", 1, "--database-url", url),
                   "API key 1 is revoked; issue a new key for its client 'marketplace-checkout' instead.")
    assert_refused(credit("api-key", "rotate", 9, "--database-url", url), "No API key 9.")


def test_api_key_create_refuses_a_name_with_a_control_character_or_an_actors_form(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert_refused(credit("api-key", "create", "shop\x07", "checkout", "--database-url", url),
                   "`name` must not contain control characters; got U+0007.")
    assert_refused(credit("api-key", "create", "shop", "checkout", "--client", "key:1", "--database-url", url),
                   "`client` must not have the form key:<id> of an audit actor; got 'key:1'.")
