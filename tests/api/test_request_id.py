"""X-Request-Id: on every response (the client's when sane, else a new one) and on every log line of the request."""

from __future__ import annotations

import io
import logging
import re
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient

from api.kit.auth import Caller, requires
from api.kit.request_id import LOG_FORMAT, RequestIdFilter, log_config
from tests.api.conftest import auth

NEW_ID = re.compile(r"[0-9a-f]{32}")


def test_a_sane_request_id_is_echoed(client, keys):
    for sent in ("abc-123", "0f8fad5b-d9cb-469f-a165-70867728950e", "trace:1/2+3=4@edge_5.6", "x" * 128):
        response = client.get("/v1/api-keys", headers=auth(keys["admin"]) | {"X-Request-Id": sent})
        assert (response.status_code, response.headers["x-request-id"]) == (200, sent)


def test_without_one_the_service_makes_a_new_id_each_time(client):
    first, second = (client.get("/v1/health").headers["x-request-id"] for _ in range(2))
    assert NEW_ID.fullmatch(first) and NEW_ID.fullmatch(second) and first != second


@pytest.mark.parametrize("sent", ["", "x" * 129, "has space", "semi;colon", "quote\"d", "é".encode()])
def test_an_insane_request_id_is_replaced(client, sent):
    response = client.get("/v1/health", headers={"X-Request-Id": sent})
    assert NEW_ID.fullmatch(response.headers["x-request-id"])


def test_every_kind_of_error_carries_the_request_id(client, keys):
    sent = {"X-Request-Id": "req-1"}
    answers = {
        "unknown route": client.get("/v1/nowhere", headers=sent),
        "no key": client.get("/v1/api-keys", headers=sent),
        "wrong role": client.get("/v1/api-keys", headers=sent | auth(keys["checkout"])),
        "validation": client.get("/v1/receivables?limit=0", headers=sent | auth(keys["finance"])),
        "body too large": client.post("/v1/api-keys", content=b"x" * 70_000,
                                      headers=sent | auth(keys["admin"]) | {"Content-Type": "application/json"}),
        "crash": client.get("/v1/test/crash", headers=sent),
    }
    statuses = {name: response.status_code for name, response in answers.items()}
    assert statuses == {"unknown route": 404, "no key": 401, "wrong role": 403, "validation": 422,
                        "body too large": 413, "crash": 500}
    assert {name: response.headers.get("x-request-id") for name, response in answers.items()} == \
        {name: "req-1" for name in answers}


log = logging.getLogger("tests.request")
logging_router = APIRouter()


def logs_in_a_dependency(caller: Annotated[Caller, requires("admin")]) -> Caller:
    log.warning("dependency of %s", caller.name)
    return caller


@logging_router.get("/v1/test/logs")
def logs_in_the_thread_pool(caller: Annotated[Caller, Depends(logs_in_a_dependency)]) -> dict:
    log.warning("route in the pool")
    return {}


@pytest.fixture
def service_log() -> io.StringIO:
    """The service's log lines as `credit serve` formats them (LOG_FORMAT through RequestIdFilter)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RequestIdFilter())
    watched = [logging.getLogger("api"), logging.getLogger("tests.request")]
    for logger in watched:
        logger.addHandler(handler)
    yield stream
    for logger in watched:
        logger.removeHandler(handler)


def test_every_log_line_of_a_request_carries_its_id(app, client, keys, service_log):
    app.include_router(logging_router)
    logged = client.get("/v1/test/logs", headers=auth(keys["admin"]) | {"X-Request-Id": "req-logged"})
    crashed = client.get("/v1/test/crash", headers={"X-Request-Id": "req-crashed"})
    log.warning("outside any request")
    assert (logged.status_code, crashed.status_code) == (200, 500)
    lines = [line.split(" ", 2)[2] for line in service_log.getvalue().splitlines() if re.match(r"\d{4}-", line)]
    assert lines == [
        "WARNING tests.request [req-logged] dependency of test-admin",
        "WARNING tests.request [req-logged] route in the pool",
        "ERROR api.errors [req-crashed] unhandled error on GET /v1/test/crash",
        "WARNING tests.request [-] outside any request",
    ]


def test_credit_serve_logs_every_record_through_the_request_id_filter():
    config = log_config()
    assert config["root"] == {"handlers": ["service"], "level": "INFO"}
    assert config["handlers"]["service"]["filters"] == ["request_id"]
    assert config["filters"]["request_id"]["()"] is RequestIdFilter
    assert config["formatters"]["service"]["format"] == LOG_FORMAT
    assert "default" in config["formatters"] and "uvicorn.error" in config["loggers"]  # uvicorn's own kept


def test_the_openapi_document_declares_the_header_on_every_operation_and_response(client):
    paths = client.get("/v1/openapi.json").json()["paths"]
    operations = [operation for item in paths.values() for operation in item.values()]
    assert len(operations) > 50
    for operation in operations:
        assert [p["required"] for p in operation["parameters"] if p["name"] == "X-Request-Id"] == [False]
        for response in operation["responses"].values():
            assert response["headers"]["X-Request-Id"]["required"] is True
