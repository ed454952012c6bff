"""Stores for tests: a fresh SQLite file, and a fresh PostgreSQL database per test session.

PostgreSQL tests skip only when no server answers and CI is not set; under CI=true a
missing server fails them, so CI can never pass without running them.

Under pytest-xdist (``make test``) every worker is a session of its own, with its own database;
tests/workers.py says which tests share a worker.
"""

from __future__ import annotations

import gc
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from credit.store.engine import make_engine
from migrations import upgrade
from tests.stores import copy_of, empty_all_tables, migrated_template

# The CLI tests ask for a wide terminal (COLUMNS in tests/cli/invoke.py), which rich honours only
# if COLUMNS was unset when the CLI's console was made. pytest imports readline, which exports
# COLUMNS=80 and LINES=24 to the processes pytest-xdist then starts: drop them before any import
# of the CLI, so tables and messages wrap alike in a worker and in a plain run.
for _inherited in ("COLUMNS", "LINES"):
    os.environ.pop(_inherited, None)

POSTGRES_ADMIN_URL = os.environ.get("CREDIT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _postgres_admin() -> Engine | None:
    engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            return engine
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "no server"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but PostgreSQL at {POSTGRES_ADMIN_URL} does not answer: {exc}")
        return None


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):  # noqa: ANN001, ANN201
    """``--dist loadgroup`` shares the suite out by work unit (tests/workers.py), not test by test."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from tests.workers import WorkUnitScheduling

    return WorkUnitScheduling(config, log)


class _NoFullCollection:
    """``gc`` for the app's lifespan in tests: freezes like the real one, without the full collection first.

    The lifespan collects and freezes the heap once per process start, so that a server's
    gen-2 collections stop walking the import-time objects (api/app.py). Tests start hundreds of
    apps in one process, and each full collection walks the whole test session's heap: 0.2 CPU-s
    and more per app. No test asserts on the collector; Python's own collections still run.
    """

    collect = staticmethod(lambda generation=2: 0)
    freeze = staticmethod(gc.freeze)
    unfreeze = staticmethod(gc.unfreeze)


@pytest.fixture(scope="session", autouse=True)
def _apps_skip_the_full_collection() -> Iterator[None]:
    import api.app

    real, api.app.gc = api.app.gc, _NoFullCollection()
    yield
    api.app.gc = real


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    admin = _postgres_admin()
    if admin is None:
        pytest.skip(f"no PostgreSQL server answers at {POSTGRES_ADMIN_URL}")
    name = f"credit_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(make_engine(url))
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite store at the latest migration, built once per session (per xdist worker); copy it."""
    return migrated_template(tmp_path_factory.mktemp("migrated"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path, migrated_sqlite: Path) -> Iterator[Engine]:  # noqa: ANN001
    """An empty store at the latest migration, on SQLite (a copy of the session's template) and on PostgreSQL."""
    if request.param == "sqlite":
        engine = make_engine(copy_of(migrated_sqlite, tmp_path / "store.db"))
        yield engine
        engine.dispose()
        return
    engine = make_engine(request.getfixturevalue("postgres_url"))
    yield engine
    empty_all_tables(engine)
    engine.dispose()


@pytest.fixture
def session(store: Engine) -> Iterator[Session]:
    """A session on the store inside an outer transaction that is rolled back after the test.

    A test that expects a statement to fail wraps it in ``session.begin_nested()``.
    """
    with store.connect() as connection:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
            outer.rollback()


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Callable[[int], object]]:
    """``dask_client(workers)``: a Dask client on that many single-threaded workers in this process.

    One cluster per worker count, started on first use and closed at the end of the session.
    """
    clusters: dict[int, tuple[object, object]] = {}

    def client(workers: int) -> object:
        from distributed import Client, LocalCluster

        if workers not in clusters:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=False, dashboard_address=None)
            clusters[workers] = (cluster, Client(cluster))
        return clusters[workers][1]

    yield client
    for cluster, started in clusters.values():
        started.close()
        cluster.close()
