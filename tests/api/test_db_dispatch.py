"""Where the database work of a ``runs_sql`` route runs: in the thread pool on PostgreSQL, on the loop on SQLite.

On PostgreSQL a statement waits on the network and on the server's WAL flush, so it must not
hold the event loop; on SQLite a trip to the pool costs more than the statement, and the
write-lock discipline wants the unit of work uninterrupted on the loop (``api/kit/db.py``).
"""

from __future__ import annotations

import threading

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.kit.db import SessionDep, runs_sql
from credit.settings import Settings
from tests.api.conftest import build_app


def _app_reporting_threads(settings: Settings):  # noqa: ANN202
    app = build_app(settings)
    router = APIRouter()

    @router.get("/v1/test/where")
    async def loop_thread() -> dict:
        return {"thread": threading.get_ident()}

    @router.get("/v1/test/where-sql")
    @runs_sql
    def sql_thread(session: SessionDep) -> dict:
        return {"thread": threading.get_ident(), "one": session.scalar(text("SELECT 1"))}

    app.include_router(router)
    return app


@pytest.mark.parametrize("store_settings", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
def test_marked_work_runs_in_the_pool_on_a_server_and_on_the_loop_on_sqlite(store_settings: Settings) -> None:
    with TestClient(_app_reporting_threads(store_settings)) as client:
        loop = client.get("/v1/test/where").json()["thread"]
        answer = client.get("/v1/test/where-sql").json()
    assert answer["one"] == 1
    on_the_loop = answer["thread"] == loop
    assert on_the_loop is store_settings.database_url.startswith("sqlite")


def test_marking_refuses_a_coroutine_and_a_function_without_a_session_or_request() -> None:
    async def coroutine(session: SessionDep) -> None: ...

    def without_store(n: int) -> None: ...

    with pytest.raises(TypeError, match="must be a plain def"):
        runs_sql(coroutine)
    with pytest.raises(TypeError, match="needs a Request or a SessionDep argument"):
        runs_sql(without_store)
