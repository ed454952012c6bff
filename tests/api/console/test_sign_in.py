"""Signing in to the console: who may, what the browser holds, when a session ends, CSRF on every form."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from api.console.tables import ConsoleSession
from api.kit.auth import revoke_api_key
from credit import clock
from tests.api.console.facts import store_counts
from tests.api.console.pages import form_token, parse, sign_in


def sessions(app) -> list:  # noqa: ANN001
    table = ConsoleSession.__table__
    with app.state.engine.connect() as connection:
        return connection.execute(select(table).order_by(table.c.session_id)).all()


def key_id(app, name: str) -> int:  # noqa: ANN001
    with app.state.engine.connect() as connection:
        return connection.execute(text("SELECT key_id FROM api_keys WHERE name = :name"), {"name": name}).scalar_one()


@pytest.mark.parametrize("role", ["finance", "admin"])
def test_a_finance_or_admin_key_opens_a_session_kept_as_a_hash_in_an_httponly_strict_cookie(
        anonymous, console_app, book, role) -> None:
    response = sign_in(anonymous, book.keys[role])
    assert (response.status_code, response.headers["location"]) == (303, "/console/queue")
    cookie = next(value for value in response.headers.get_list("set-cookie") if value.startswith("console_session="))
    token = cookie.split(";")[0].removeprefix("console_session=")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path=/console", "samesite=strict", "max-age=28800"} <= flags
    assert "secure" not in flags  # plain http here; see the https test
    [row] = sessions(console_app)
    assert row.key_id == key_id(console_app, f"console-{role}")
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row
    assert row.expires_at - row.created_at == timedelta(hours=8) and row.ended_at is None
    page = anonymous.get("/console/queue")
    assert page.status_code == 200 and f"console-{role}" in parse(page.text).find("div", class_="who").text


def test_over_https_the_session_cookie_is_secure(console_app, book) -> None:
    with TestClient(console_app, base_url="https://testserver", follow_redirects=False) as client:
        response = sign_in(client, book.keys["finance"])
    cookie = next(value for value in response.headers.get_list("set-cookie") if value.startswith("console_session="))
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


@pytest.mark.parametrize("role", ["checkout", "analyst"])
def test_a_key_of_another_role_is_refused_with_a_message_saying_so(anonymous, console_app, book, role) -> None:
    response = sign_in(anonymous, book.keys[role])
    assert response.status_code == 403
    error = parse(response.text).find(id="api_key-error").text
    assert error == (f"The console is for the finance team: this key's role is {role}. "
                     "Sign in with a finance or admin key.")
    assert sessions(console_app) == []
    assert not any(value.startswith("console_session=") for value in response.headers.get_list("set-cookie"))
    assert anonymous.get("/console/queue").status_code == 303


def test_a_revoked_finance_key_is_refused(anonymous, console_app, book) -> None:
    with console_app.state.sessionmaker() as session:
        revoke_api_key(session, key_id(console_app, "console-finance"))
        session.commit()
    response = sign_in(anonymous, book.keys["finance"])
    assert response.status_code == 401
    assert "was revoked on" in parse(response.text).find(id="api_key-error").text
    assert sessions(console_app) == []


@pytest.mark.parametrize(("typed", "message"), [
    ("", "Enter an API key of the finance team (it starts with mck_)."),
    ("not-a-key", "This is not a valid API key: a key is mck_ followed by 43 characters."),
    ("mck_" + "A" * 43, "This API key is not valid."),
])
def test_a_missing_malformed_or_unknown_key_is_refused(anonymous, console_app, typed, message) -> None:
    response = sign_in(anonymous, typed)
    assert response.status_code == 401
    assert parse(response.text).find(id="api_key-error").text == message
    assert sessions(console_app) == []


def test_a_sign_in_without_its_form_token_is_refused(anonymous, console_app, book) -> None:
    response = anonymous.post("/console/sign-in", data={"api_key": book.keys["finance"], "csrf_token": "forged"})
    assert response.status_code == 403
    assert "The sign-in form had expired" in parse(response.text).find(id="api_key-error").text
    assert sessions(console_app) == []


def test_a_page_asked_for_before_sign_in_is_shown_after_it(anonymous, book) -> None:
    response = anonymous.get("/console/portfolio")
    assert (response.status_code, response.headers["location"]) == (
        303, "/console/sign-in?next=%2Fconsole%2Fportfolio")
    page = anonymous.get(response.headers["location"])
    assert parse(page.text).find("input", name="next").attrs["value"] == "/console/portfolio"
    signed_in = anonymous.post("/console/sign-in", data={"api_key": book.keys["finance"], "next": "/console/portfolio",
                                                         "csrf_token": form_token(page.text)})
    assert signed_in.headers["location"] == "/console/portfolio"


@pytest.mark.parametrize("target", ["//evil.example/console", "https://evil.example/", "/v1/health", "/console\\@evil"])
def test_a_next_address_outside_the_console_is_ignored(anonymous, book, target) -> None:
    assert sign_in(anonymous, book.keys["finance"], next_path=target).headers["location"] == "/console/queue"


def test_an_expired_session_goes_back_to_sign_in(finance, console_app) -> None:
    assert finance.get("/console/queue").status_code == 200
    with console_app.state.engine.begin() as connection:
        # signed in 8 hours and a second ago
        started = clock.now() - timedelta(hours=8, seconds=1)
        connection.execute(update(ConsoleSession).values(created_at=started, expires_at=started + timedelta(hours=8)))
    response = finance.get("/console/queue")
    assert (response.status_code, response.headers["location"]) == (303, "/console/sign-in?next=%2Fconsole%2Fqueue")


def test_signing_out_ends_the_session_even_for_a_copy_of_its_cookie(finance, console_app) -> None:
    token = finance.cookies.get("console_session")
    page = finance.get("/console/queue")
    response = finance.post("/console/sign-out", data={"csrf_token": form_token(page.text)})
    assert (response.status_code, response.headers["location"]) == (303, "/console/sign-in?signed_out=1")
    [row] = sessions(console_app)
    assert row.ended_at is not None
    with TestClient(console_app, follow_redirects=False, cookies={"console_session": token}) as replay:
        assert replay.get("/console/queue").status_code == 303


def test_signing_out_needs_the_form_token(finance, console_app) -> None:
    finance.post("/console/sign-out", data={"csrf_token": "forged"})
    [row] = sessions(console_app)
    assert row.ended_at is None and finance.get("/console/queue").status_code == 200


def test_revoking_the_key_ends_its_open_sessions(finance, console_app) -> None:
    assert finance.get("/console/queue").status_code == 200
    with console_app.state.sessionmaker() as session:
        revoke_api_key(session, key_id(console_app, "console-finance"))
        session.commit()
    assert finance.get("/console/queue").status_code == 303


def test_a_form_posted_with_another_sessions_token_is_refused_and_saves_nothing(finance, console_app, book) -> None:
    application = book.referred[0]
    stale = form_token(finance.get(f"/console/applications/{application}").text)
    finance.post("/console/sign-out", data={"csrf_token": stale})
    sign_in(finance, book.keys["finance"])
    before = store_counts(console_app.state.engine)
    response = finance.post(f"/console/applications/{application}/review",
                            data={"action": "approve", "reason": "fine", "csrf_token": stale})
    assert response.status_code == 403
    assert "opened in an earlier session" in parse(response.text).find("p", class_="form-error").text
    assert store_counts(console_app.state.engine) == before


def test_a_form_posted_without_a_session_goes_to_sign_in_and_saves_nothing(anonymous, console_app, book) -> None:
    before = store_counts(console_app.state.engine)
    response = anonymous.post(f"/console/applications/{book.referred[0]}/review",
                              data={"action": "approve", "reason": "fine", "csrf_token": "x"})
    assert response.status_code == 303 and response.headers["location"].startswith("/console/sign-in")
    assert store_counts(console_app.state.engine) == before


def test_console_pages_are_not_in_the_openapi_document(anonymous) -> None:
    paths = anonymous.get("/v1/openapi.json").json()["paths"]
    assert paths and not [path for path in paths if path.startswith("/console")]


def test_the_stylesheets_ship_with_the_package_and_pages_load_nothing_from_elsewhere(finance) -> None:
    for name in ("console.css", "charts.css"):
        response = finance.get(f"/console/static/{name}")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/css")
    page = finance.get("/console/portfolio")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "http://" not in page.text.replace("http://www.w3.org/2000/svg", "") and "https://" not in page.text
    assert page.headers["cache-control"] == "no-store"
