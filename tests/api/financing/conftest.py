from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from credit.settings import Settings
from tests.api.conftest import ROLES, make_key
from tests.api.financing.factories import SERVED


@pytest.fixture
def financing_app(settings: Settings) -> FastAPI:
    app = create_app(settings)
    app.state.serving_model = SERVED  # the factories' scores are this model's: no re-scoring
    return app


@pytest.fixture
def financing_client(financing_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(financing_app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def financing_keys(financing_client: TestClient, financing_app: FastAPI) -> dict[str, str]:
    return {role: make_key(financing_app, role) for role in ROLES}
