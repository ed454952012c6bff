"""Schemathesis over the whole app's OpenAPI document: no generated request may get a 5xx.

The app runs on a copy of the scored simulated marketplace (tests/api/marketplace.py) with its
champion loaded, every request carries an admin key and a fresh Idempotency-Key, and each
operation gets a few examples, so the run stays well under a minute.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from api.app import create_app
from credit.settings import Settings
from schemathesis.checks import not_a_server_error
from tests.api.conftest import auth, make_key
from tests.api.marketplace import ScoredMarketplace, marketplace  # noqa: F401

EXAMPLES_PER_OPERATION = 12


# The schema is read when the module is imported, so the app exists from then on; its store is
# a file the fixture fills with a copy of the scored marketplace before the app starts.
_STORE = Path(tempfile.mkdtemp(prefix="fuzz-")) / "store.db"
_SERVING = Path(tempfile.mkdtemp(prefix="fuzz-serving-"))
fuzzed = create_app(Settings(database_url=f"sqlite:///{_STORE}", serving_folder=str(_SERVING)))
# Revoking API keys is left out: a generated id would soon be the fuzzer's own key.
schema = schemathesis.openapi.from_asgi("/v1/openapi.json", fuzzed).exclude(method="DELETE", path="/v1/api-keys/{key_id}")


@pytest.fixture(scope="module")
def fuzz_key(marketplace: ScoredMarketplace) -> str:  # noqa: F811
    shutil.copyfile(marketplace.store, _STORE)
    shutil.copytree(marketplace.serving, _SERVING, dirs_exist_ok=True)
    with TestClient(fuzzed):  # runs the lifespan: the store is opened, migrated and kept on app.state
        yield make_key(fuzzed, "admin", name="schemathesis")
    shutil.rmtree(_STORE.parent, ignore_errors=True)
    shutil.rmtree(_SERVING, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_no_generated_request_gets_a_server_error(case, fuzz_key):  # noqa: ANN001
    # the key and the Idempotency-Key are ours: drop whatever the generator put in those headers
    case.headers = {name: value for name, value in (case.headers or {}).items()
                    if name.lower() not in ("authorization", "x-api-key", "idempotency-key")}
    headers = auth(fuzz_key) | {"Idempotency-Key": str(uuid.uuid4())}
    case.call_and_validate(headers=headers, checks=[not_a_server_error])
