"""The early-warning work list: filters, order by exposure at risk, and the audited work on a warning.

On the store of warned_book.py, whose exposures are worked out by hand in its docstring.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from api.console.queries import early_warnings
from credit import ledger
from credit.audit import DecisionRecord
from credit.monitoring.tables import EarlyWarningAction
from tests.api.console.pages import form_token, parse, sign_in
from tests.api.console.test_sign_in import key_id
from tests.api.console.warned_book import AT_RISK, EVERY_FIRM, WITH_EXPOSURE, WarnedBook, app_on_copy, warned_book
from tests.events.recorded import written


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> WarnedBook:
    return warned_book(tmp_path_factory.mktemp("warned"))


@pytest.fixture
def warned(built: WarnedBook, tmp_path: Path) -> Iterator[tuple[WarnedBook, TestClient]]:
    book, app = built, app_on_copy(built, tmp_path)
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield book, client


@pytest.fixture
def anna(warned: tuple[WarnedBook, TestClient]) -> TestClient:
    book, client = warned
    assert sign_in(client, book.keys["anna"]).status_code == 303
    return client


def _rows(html: str) -> list[int]:
    return [int(row.attrs["data-firm-id"]) for row in parse(html).find("table", class_="work-list").find_all("tr")
            if "data-firm-id" in row.attrs]


def _at_risk(html: str) -> list[str]:
    return [cell.text for cell in parse(html).find_all("td", class_="at-risk")]


def _actions(client: TestClient) -> list[EarlyWarningAction]:
    with client.app.state.sessionmaker() as session:
        return list(session.scalars(select(EarlyWarningAction).order_by(EarlyWarningAction.action_id)))


def _post(client: TestClient, path: str, **fields: str) -> object:
    token = form_token(client.get("/console/early-warnings").text)
    return client.post(path, data={"csrf_token": token, **fields})


def test_filtered_to_firms_with_exposure_the_largest_exposure_at_risk_comes_first(warned, anna) -> None:  # noqa: ANN001
    page = anna.get("/console/early-warnings?exposure=1")
    assert page.status_code == 200, page.text
    assert _rows(page.text) == WITH_EXPOSURE
    assert _at_risk(page.text) == [AT_RISK[firm] for firm in WITH_EXPOSURE]
    assert "5 firms on the list" in parse(page.text).find("p", class_="lead").text
    everything = anna.get("/console/early-warnings")
    assert _rows(everything.text) == EVERY_FIRM  # then no exposure: most reasons first


@pytest.mark.parametrize(("query", "firms"), [
    ("product=loan", [102, 103]),
    ("product=credit_line", [103, 101, 104]),
    ("rule=arrears_approaching", [103, 101]),
    ("rule=grade_drop", [105, 104]),
    ("industry=textiles", [105]),
    ("exposure=1&product=credit_line&rule=arrears_approaching", [103, 101]),
])
def test_product_rule_and_industry_narrow_the_list_in_the_same_order(anna, query, firms) -> None:  # noqa: ANN001
    page = anna.get(f"/console/early-warnings?{query}")
    assert page.status_code == 200, page.text
    assert _rows(page.text) == firms


@pytest.mark.parametrize(("query", "message"), [
    ("product=bonds", "There is no product “bonds” in the book"),
    ("rule=moon_phase", "There is no early-warning rule “moon_phase”"),
    ("industry=fishing", "No firm on the list is in the industry “fishing”"),
    ("page=0", "A page is a whole number from 1"),
    ("page=7", "The list has 1 page; there is no page 7"),
])
def test_a_filter_not_understood_is_named_and_left_out(anna, query, message) -> None:  # noqa: ANN001
    page = anna.get(f"/console/early-warnings?{query}")
    assert page.status_code == 400
    assert message in page.text
    assert _rows(page.text) == EVERY_FIRM


def test_an_acknowledgement_from_the_list_is_audited_with_its_actor_and_event(warned, anna) -> None:  # noqa: ANN001
    book, _ = warned
    back = "/console/early-warnings?exposure=1"
    response = _post(anna, f"/console/early-warnings/{book.run_id}/102/acknowledge", back=back)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console/early-warnings?exposure=1&done=acknowledged"
    actor = f"key:{key_id(anna.app, 'anna')}"
    [row] = _actions(anna)
    assert (row.run_id, row.firm_id, row.action, row.actor, row.actor_name) == (book.run_id, 102, "acknowledge",
                                                                                 actor, "anna")
    with anna.app.state.sessionmaker() as session:
        [event] = written(session, "early_warning.acknowledged")
    assert (event.object_type, event.object_id, event.firm_id) == ("early_warning", f"{book.run_id}:102", 102)
    assert event.data["acknowledged_by"] == actor and event.data["actor"] == actor
    assert event.data["reasons"] == ["new_overdue"] and event.data["assignee"] is None

    listed = anna.get(response.headers["location"])
    assert "Warning acknowledged." in listed.text
    row_102 = parse(listed.text).find("tr", data_firm_id="102")
    assert "Acknowledged by anna" in row_102.text and not row_102.find_all("form")

    again = _post(anna, f"/console/early-warnings/{book.run_id}/102/acknowledge", back=back)
    assert again.status_code == 409
    assert "This warning was acknowledged already, by anna" in again.text
    assert len(_actions(anna)) == 1
    with anna.app.state.sessionmaker() as session:
        assert len(written(session, "early_warning.acknowledged")) == 1


def test_assignment_and_notes_are_stored_audited_and_shown(warned, anna) -> None:  # noqa: ANN001
    book, _ = warned
    base = f"/console/early-warnings/{book.run_id}/103"
    assigned = _post(anna, f"{base}/assign", assignee="ben")
    assert assigned.status_code == 303 and assigned.headers["location"] == f"{base}?done=assigned"
    noted = _post(anna, f"{base}/note", note="  Called the CFO: pays the overdue invoice on Friday.  ")
    assert noted.status_code == 303
    reassigned = _post(anna, f"{base}/assign", assignee="anna")
    assert reassigned.status_code == 303

    assert [(a.action, a.assignee, a.note, a.actor_name) for a in _actions(anna)] == [
        ("assign", "ben", None, "anna"), ("note", None, "Called the CFO: pays the overdue invoice on Friday.", "anna"),
        ("assign", "anna", None, "anna")]
    with anna.app.state.sessionmaker() as session:
        events = written(session, "early_warning.assigned", "early_warning.noted")
    assert [(e.type, e.data["assignee"], e.data["notes"]) for e in events] == [
        ("early_warning.assigned", "ben", 0), ("early_warning.noted", "ben", 1), ("early_warning.assigned", "anna", 1)]
    assert events[2].data["previous_assignee"] == "ben"
    assert "Called the CFO" not in str(events[1].data)  # notes are internal: events carry their id only
    assert events[1].data["note_id"] == _actions(anna)[1].action_id

    page = anna.get(base)
    log = parse(page.text).find("section", class_="work-log").text
    assert "anna assigned it to ben" in log and "anna assigned it to anna" in log
    assert "Called the CFO: pays the overdue invoice on Friday." in log
    row = parse(anna.get("/console/early-warnings").text).find("tr", data_firm_id="103")
    assert "Assigned to anna" in row.text and "1 note" in row.text


def test_freezing_from_the_work_list_freezes_the_line_as_an_audited_line_change(warned, anna) -> None:  # noqa: ANN001
    book, _ = warned
    base = f"/console/early-warnings/{book.run_id}/101"
    response = _post(anna, f"{base}/line", action="freeze", reason="Arrears block in sight; wait for payment.")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"{base}?changed=freeze"
    with anna.app.state.sessionmaker() as session:
        line = ledger.get_line(session, book.lines[101])
        assert (line.status, line.frozen_by) == ("frozen", "finance")
        [decision] = session.scalars(select(DecisionRecord).where(DecisionRecord.kind == "line_change")).all()
        assert decision.actor == f"key:{key_id(anna.app, 'anna')}" and decision.firm_id == 101
        assert decision.request["action"] == "freeze"
        assert [e.object_id for e in written(session, "credit_line.frozen")] == [str(book.lines[101])]
    page = anna.get(response.headers["location"])
    assert "Line change recorded: freeze the line." in page.text
    assert "line change (freeze the line): Arrears block in sight; wait for payment." in \
        parse(page.text).find("section", class_="work-log").text

    limited = _post(anna, f"{base}/line", action="change_limit", limit="15,000", reason="Cut to what it uses.")
    assert limited.status_code == 303
    with anna.app.state.sessionmaker() as session:
        assert ledger.get_line(session, book.lines[101]).balances.limit_minor == 1_500_000

    too_low = _post(anna, f"{base}/line", action="change_limit", limit="11000", reason="Lower still.")
    assert too_low.status_code == 409  # posted 8,000.00 + held 4,000.00 = 12,000.00
    assert "The limit cannot go below what the buyer already uses (EUR 8,000.00 posted + EUR 4,000.00 held)" in \
        too_low.text


@pytest.mark.parametrize(("path", "fields", "status", "message"), [
    ("{run}/103/assign", {"assignee": "nobody"}, 422, "No console user “nobody”"),
    ("{run}/103/assign", {"assignee": "carl"}, 422, "No console user “carl”"),  # an analyst cannot sign in
    ("{run}/103/assign", {"assignee": ""}, 422, "Choose the person to assign this warning to."),
    ("{run}/103/note", {"note": "   "}, 422, "A note needs some text"),
    ("{run}/103/note", {"note": "x" * 2001}, 422, "A note has at most 2,000 characters; this one has 2,001."),
    ("{run}/999/acknowledge", {}, 404, "Firm 999 is not on the early-warning list of monitoring run"),
    ("{run}/999/note", {"note": "hello"}, 404, "Firm 999 is not on the early-warning list"),
    ("12345/101/acknowledge", {}, 404, "Firm 101 is not on the early-warning list of monitoring run 12345"),
    ("abc/101/acknowledge", {}, 404, "run and firm are whole numbers"),
    ("{run}/104/line", {"action": "freeze", "reason": ""}, 422, "A reason is required"),
    ("{run}/104/line", {"action": "melt", "reason": "r"}, 422, "Choose a change: freeze, unfreeze or change the limit."),
    ("{run}/102/line", {"action": "freeze", "reason": "r"}, 409, "This firm has no credit line to change."),
    ("{run}/104/line", {"action": "change_limit", "limit": "ten", "reason": "r"}, 422,
     "The limit must be a number of euros"),
])
def test_bad_input_gets_a_clear_error_and_saves_nothing(warned, anna, path, fields, status, message) -> None:  # noqa: ANN001
    book, _ = warned
    response = _post(anna, "/console/early-warnings/" + path.format(run=book.run_id), **fields)
    assert response.status_code == status, response.text
    assert message in response.text
    assert _actions(anna) == []
    with anna.app.state.sessionmaker() as session:
        assert written(session, "early_warning.acknowledged", "early_warning.assigned", "early_warning.noted") == []
        assert ledger.get_line(session, book.lines[104]).status == "active"


def test_only_a_signed_in_finance_or_admin_key_acts_and_only_with_the_sessions_form_token(warned) -> None:  # noqa: ANN001
    book, client = warned
    path = f"/console/early-warnings/{book.run_id}/101/acknowledge"
    assert client.post(path, data={"csrf_token": "x"}).headers["location"].startswith("/console/sign-in")
    for person in ("carl", "dora"):  # analyst (read-only) and checkout keys cannot open the console
        assert sign_in(client, book.keys[person]).status_code == 403
        assert client.post(path, data={"csrf_token": "x"}).headers["location"].startswith("/console/sign-in")
    assert sign_in(client, book.keys["ben"]).status_code == 303  # admin
    stale = client.post(path, data={"csrf_token": "not-this-session"})
    assert stale.status_code == 403 and "nothing was saved" in stale.text
    assert _actions(client) == []
    assert _post(client, path).status_code == 303
    assert [a.actor_name for a in _actions(client)] == ["ben"]


def test_the_work_log_is_append_only(warned, anna) -> None:  # noqa: ANN001
    book, _ = warned
    _post(anna, f"/console/early-warnings/{book.run_id}/101/acknowledge")
    with anna.app.state.engine.connect() as connection:
        for statement in ("UPDATE early_warning_actions SET actor_name = 'someone else'",
                          "DELETE FROM early_warning_actions"):
            with pytest.raises(DatabaseError, match="append-only"):
                connection.execute(text(statement))
    assert [a.actor_name for a in _actions(anna)] == ["anna"]


def test_a_long_list_is_paged_and_every_page_keeps_the_filters(anna, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(early_warnings, "PAGE_SIZE", 2)  # the list's length, not its behaviour: five firms, not 101
    first = anna.get("/console/early-warnings?exposure=1")
    assert _rows(first.text) == WITH_EXPOSURE[:2]
    following = parse(first.text).find("nav", class_="pages").find("a").attrs["href"]
    assert following == "/console/early-warnings?exposure=1&page=2"
    assert _rows(anna.get(following).text) == WITH_EXPOSURE[2:]


def test_a_warning_opened_from_the_filtered_list_leads_back_to_it_after_its_forms(warned, anna) -> None:  # noqa: ANN001
    book, _ = warned
    listed = parse(anna.get("/console/early-warnings?exposure=1").text)
    opened = listed.find("tr", data_firm_id="103").find("a", class_="button").attrs["href"]
    page = anna.get(opened)
    back = parse(page.text).find("form", action=f"/console/early-warnings/{book.run_id}/103/note") \
        .find("input", name="back").attrs["value"]
    noted = _post(anna, f"/console/early-warnings/{book.run_id}/103/note", note="Watch Friday.", back=back)
    assert noted.status_code == 303
    again = parse(anna.get(noted.headers["location"]).text)
    assert again.find("p", role="status").text == "Note added."
    assert again.find("p", class_="crumbs").find("a").attrs["href"] == "/console/early-warnings?exposure=1"
    evil = _post(anna, f"/console/early-warnings/{book.run_id}/103/note", note="Again.", back="https://evil.example/")
    assert evil.headers["location"] == "/console/early-warnings?done=noted"  # never off the work list


def _links_named(html: str, text: str) -> list[str]:
    return [anchor.attrs["href"] for anchor in parse(html).find_all("a") if anchor.text.strip() == text]


def test_the_firm_page_and_the_portfolio_lead_to_the_work_list(warned, anna) -> None:  # noqa: ANN001
    book, _ = warned
    work = _links_named(anna.get("/console/firms/102").text, "Work on this warning")
    assert work == [f"/console/early-warnings/{book.run_id}/102"]
    assert anna.get(work[0]).status_code == 200
    assert _links_named(anna.get("/console/portfolio").text, "Open the work list") == ["/console/early-warnings"]
