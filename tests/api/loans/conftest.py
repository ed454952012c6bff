"""A loans app on the test's store (SQLite and PostgreSQL), with a key per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.app import create_app
from api.kit.auth import create_api_key
from credit.settings import Settings
from tests.api.conftest import ROLES


@pytest.fixture
def loans_client(store: Engine) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=store.url.render_as_string(hide_password=False)))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def loans_keys(store: Engine, loans_client: TestClient) -> dict[str, dict[str, str]]:
    """Authorization headers by role."""
    headers = {}
    with Session(store) as session, session.begin():
        for role in ROLES:
            _, key = create_api_key(session, f"test-{role}", role)
            headers[role] = {"Authorization": f"Bearer {key}"}
    return headers
