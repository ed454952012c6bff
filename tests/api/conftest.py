"""Apps for API tests: a fresh SQLite store per test (PostgreSQL where a test asks), keys by role,
and a small test-only router that exercises the kit the way product routes will."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pytest
import uvicorn
from fastapi import APIRouter, FastAPI, Response
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from api.app import create_app
from api.kit.auth import Caller, create_api_key, requires
from api.kit.db import SessionDep
from api.kit.errors import Conflict, responses
from api.kit.idempotency import IdempotencyDep
from api.kit.money import AmountMinor, AmountOut
from api.kit.tables import ApiKey
from credit.settings import Settings
from tests.stores import copy_of, empty_all_tables

ROLES = ("checkout", "payments", "finance", "analyst", "admin")


class BookingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str = Field(min_length=1, max_length=50)
    amount: AmountMinor
    delay_seconds: float = Field(default=0, ge=0, le=2)
    refuse: bool = False


class BookingOut(BaseModel):
    reference: str
    amount_minor: int
    amount: AmountOut
    booked_by: str


def make_test_router() -> APIRouter:
    """Routes that exist only in tests: a booking that writes a row, an approval, a crash."""
    router = APIRouter(prefix="/v1/test")

    @router.post("/bookings", status_code=201, response_model=BookingOut,
                 responses=responses(400, 401, 403, 409, 413, 422))
    async def book(body: BookingIn, session: SessionDep, idem: IdempotencyDep,
                   caller: Annotated[Caller, requires("checkout", "finance", "admin")]) -> Response:
        """Book once: the business write is an API key named after the reference."""
        if body.delay_seconds:
            await asyncio.sleep(body.delay_seconds)  # before any write: holds no lock
        create_api_key(session, f"booking:{body.reference}", "analyst")
        if body.refuse:
            raise Conflict("Refused after writing.", code="booking_refused")
        out = BookingOut(reference=body.reference, amount_minor=body.amount, amount=body.amount, booked_by=caller.name)
        return idem.respond(out, status_code=201)

    @router.post("/forgetful", status_code=201)
    async def forgetful(session: SessionDep, idem: IdempotencyDep, _c: Annotated[Caller, requires("admin")]) -> dict:
        """A route that forgets idem.respond(): must not commit."""
        create_api_key(session, "forgetful", "analyst")
        return {"ok": True}

    @router.post("/lines/{line_id}/approve", responses=responses(401, 403))
    async def approve(line_id: int, caller: Annotated[Caller, requires("finance", "admin")]) -> dict:
        """Approve a credit line: never a checkout key."""
        return {"line_id": line_id, "approved_by": caller.role}

    @router.get("/crash")
    async def crash() -> dict:
        raise RuntimeError("secret internal detail")

    return router


def build_app(settings: Settings) -> FastAPI:
    app = create_app(settings)
    app.include_router(make_test_router())
    return app


def make_key(app: FastAPI, role: str = "admin", name: str | None = None) -> str:
    """Issue a key straight in the store (as the CLI will) and return its plaintext."""
    with app.state.sessionmaker() as session:
        _, plaintext = create_api_key(session, name or f"test-{role}", role)
        session.commit()
    return plaintext


def count_bookings(app: FastAPI, reference: str) -> int:
    with app.state.sessionmaker() as session:
        return session.scalar(select(func.count()).select_from(ApiKey).where(ApiKey.name == f"booking:{reference}"))


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def settings(tmp_path, migrated_sqlite: Path) -> Settings:  # noqa: ANN001
    """A fresh SQLite store: a copy of the session's migrated template (the app's lifespan finds it at heads)."""
    return Settings(database_url=copy_of(migrated_sqlite, tmp_path / "api.db"))


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return build_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def keys(client: TestClient, app: FastAPI) -> dict[str, str]:
    return {role: make_key(app, role) for role in ROLES}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_settings(request, tmp_path, migrated_sqlite: Path) -> Iterator[Settings]:  # noqa: ANN001
    """Settings on a fresh SQLite file (a copy of the session's migrated template) and on the test PostgreSQL database."""
    if request.param == "sqlite":
        yield Settings(database_url=copy_of(migrated_sqlite, tmp_path / "api.db"))
        return
    settings = Settings(database_url=request.getfixturevalue("postgres_url"))
    yield settings
    from credit.store.engine import make_engine

    engine = make_engine(settings.database_url)
    empty_all_tables(engine)
    engine.dispose()


class LiveServer:
    """The app served by a real uvicorn on 127.0.0.1 in a thread (TestClient runs one request at a time)."""

    def __init__(self, app: FastAPI) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
