"""Every part of the store declares its tables on the one ``Base``; import them all here so
``Base.metadata`` describes everything the migrations build (each part migrates on its own
branch, see ``migrations.upgrade``)."""

import api.console.tables  # noqa: F401  - console sessions (migration 0008_console_sessions)
import api.kit.tables  # noqa: F401  - API keys and idempotency records (migration 0004_api_access)

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from credit.store.engine import make_engine
from tests.conftest import POSTGRES_ADMIN_URL


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def unmigrated_store(request, tmp_path) -> Iterator[Engine]:  # noqa: ANN001
    """An empty store in a database of its own, with no migration applied (a migration test brings it
    to the revision before the one it tests, fills it, then upgrades)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"credit_migration_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
