"""Servicing tests run each scenario in a transaction that is rolled back, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session


@pytest.fixture
def session(store: Engine) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back after the test."""
    with store.connect() as connection:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
            outer.rollback()
