"""The firm page and its line forms: score history, line, holds, invoices, decisions, early warnings; audited line changes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, text

from credit import clock
from credit.audit import DecisionRecord, replay
from credit.ledger.tables import CreditLine, Hold
from credit.monitoring.results import WARNING_REASONS, latest_run
from credit.scoring.tables import ScoreSnapshot
from tests.api.conftest import auth
from tests.api.console.facts import ageing, euros, grade_of, store_counts
from tests.api.console.pages import form_token, parse, sign_in
from tests.api.console.test_sign_in import key_id


def line_of(app, firm_id: int) -> CreditLine:  # noqa: ANN001
    with app.state.sessionmaker() as session:
        return session.execute(select(CreditLine).where(CreditLine.firm_id == firm_id)).scalar_one()


def change(client, firm_id: int, **fields: str):  # noqa: ANN001, ANN201
    token = form_token(client.get(f"/console/firms/{firm_id}").text)
    return client.post(f"/console/firms/{firm_id}/line", data={"csrf_token": token, **fields})


def rows_of(table) -> dict[str, str]:  # noqa: ANN001
    return {tr.find("th").text: tr.find("td").text for tr in table.find("tbody").find_all("tr")}


def test_the_page_shows_score_history_line_holds_invoices_and_decisions(finance, console_app, book) -> None:
    firm = book.approved_firms[4]  # used to 80% of its limit (book.py)
    page = parse(finance.get(f"/console/firms/{firm}").text)
    with console_app.state.sessionmaker() as session:
        scores = session.execute(select(ScoreSnapshot.as_of, ScoreSnapshot.pd).where(ScoreSnapshot.firm_id == firm)
                                 .order_by(ScoreSnapshot.as_of)).all()
        holds = session.execute(select(Hold).join(CreditLine, CreditLine.line_id == Hold.line_id)
                                .where(CreditLine.firm_id == firm, Hold.status == "pending")
                                .order_by(Hold.hold_id)).scalars().all()
        decisions = session.execute(select(DecisionRecord.decision_id).where(DecisionRecord.firm_id == firm)
                                    .order_by(DecisionRecord.created_at.desc())).scalars().all()
    assert [row.as_of for row in scores] == list(book.score_dates)
    history = page.find("table", class_="history")
    assert [th.text for th in history.find("thead").find_all("th")[1:]] == [f"{d:%Y-%m}" for d in book.score_dates]
    grades, pds = history.find("tbody").find_all("tr")
    expected_pds = [Decimal(repr(pd_)) for _, pd_ in scores]
    assert [td.text for td in grades.find_all("td")] == [grade_of(pd_) for pd_ in expected_pds]
    assert [td.text for td in pds.find_all("td")] == [
        f"{pd_ * 100:.{2 if pd_ * 100 >= 1 else 3}f}%" for pd_ in expected_pds]
    assert "PD at each batch score" in page.find("svg").text

    line = line_of(console_app, firm)
    shown = rows_of(page.find("section", class_="line-card").find("table"))
    exposure = line.posted_minor + line.pending_minor
    assert (shown["Limit"], shown["Posted (owed to us)"], shown["Pending (held)"], shown["Available"]) == (
        f"EUR {euros(line.limit_minor)}", f"EUR {euros(line.posted_minor)}", f"EUR {euros(line.pending_minor)}",
        f"EUR {euros(line.limit_minor - exposure)}")
    assert shown["Used"] == f"{Decimal(exposure) * 100 / line.limit_minor:.1f}%"
    assert exposure * 100 // line.limit_minor in (79, 80)  # book.py used it to 80%

    held = next(table for table in page.find_all("table") if table.find("th").text == "Hold")
    assert [[td.text for td in tr.find_all("td")[:5]] for tr in held.find("tbody").find_all("tr")] == [
        [str(h.hold_id), h.order_reference, euros(h.amount_minor), euros(h.captured_minor),
         euros(h.amount_minor - h.captured_minor - h.released_minor)] for h in holds]
    assert sum(h.amount_minor - h.captured_minor - h.released_minor for h in holds) == line.pending_minor

    for label, (count, outstanding) in ageing(console_app.state.engine, firm, clock.now()).items():
        cells = page.find("tr", data_bucket=label).find_all("td")
        assert (cells[0].text, cells[1].text) == (str(count), euros(outstanding)), label

    links = [a.attrs["href"] for a in page.find_all("a") if a.attrs.get("href", "").startswith("/console/decisions/")]
    assert links == [f"/console/decisions/{d}" for d in decisions]
    assert parse(finance.get(links[-1]).text).find("h1").text.startswith("Credit-line application")


def test_the_limit_and_utilisation_charts_replay_the_ledger(finance, console_app, book) -> None:
    firm = book.approved_firms[4]
    line = line_of(console_app, firm)
    charts = [svg for svg in parse(finance.get(f"/console/firms/{firm}").text).find_all("svg")]
    limit_chart = next(svg for svg in charts if svg.find("text").text == "Limit and exposure")
    tooltips = [title.text for title in limit_chart.find_all("title")]
    today = f"{clock.now():%Y-%m-%d}"
    assert f"Limit, {today}: EUR {euros(line.limit_minor)}" in " ".join(tooltips) or \
        f"Limit, {today}: {euros(line.limit_minor)} EUR" in " ".join(tooltips)
    exposure = euros(line.posted_minor + line.pending_minor)
    assert any(exposure in tip and tip.startswith(f"Posted + held, {today}") for tip in tooltips), tooltips


def test_the_page_lists_the_firms_early_warnings_from_the_latest_monitoring_run(finance, console_app) -> None:
    with console_app.state.sessionmaker() as session:
        run = latest_run(session)
    warned = run.warnings[0]
    page = parse(finance.get(f"/console/firms/{warned.firm_id}").text)
    box = page.find("section", class_="warning-box")
    assert [li.find("strong").text for li in box.find_all("li")] == [WARNING_REASONS[code] for code in warned.reasons]
    calm = next(firm for firm in range(1, 300) if firm not in {w.firm_id for w in run.warnings}
                and finance.get(f"/console/firms/{firm}").status_code == 200)
    assert not parse(finance.get(f"/console/firms/{calm}").text).find_all("section", class_="warning-box")


def test_freezing_unfreezing_and_changing_the_limit_are_audited_line_changes_like_the_apis(
        finance, console_app, book) -> None:
    # the line with nothing used (utilisation target 0%): a new limit of 12,000 is never below what
    # is used, whatever limit the day's history gave it (a 35% line refused it with 409 on some dates)
    firm, other = book.approved_firms[0], book.approved_firms[3]
    line = line_of(console_app, firm)
    assert line.posted_minor == line.pending_minor == 0
    assert change(finance, firm, action="freeze", reason="Arrears at a big supplier.").status_code == 303
    assert line_of(console_app, firm).status == "frozen"
    assert change(finance, firm, action="unfreeze", reason="Paid up.").status_code == 303
    assert line_of(console_app, firm).status == "active"
    response = change(finance, firm, action="change_limit", limit="12000", reason="Seasonal peak.")
    assert (response.status_code, response.headers["location"]) == (303, f"/console/firms/{firm}?changed=change_limit")
    after = line_of(console_app, firm)
    assert (after.limit_minor, after.per_order_cap_minor) == (1_200_000, 600_000)  # cap: half the limit (policy)
    api = finance.post(f"/v1/credit-lines/{line_of(console_app, other).line_id}/freeze",
                       json={"reason": "Arrears at a big supplier."},
                       headers=auth(book.keys["finance"]) | {"Idempotency-Key": "api-freeze"})
    assert api.status_code == 200
    with console_app.state.sessionmaker() as session:
        changes = session.execute(select(DecisionRecord).where(DecisionRecord.kind == "line_change",
                                                               DecisionRecord.firm_id.in_([firm, other]))
                                  .order_by(DecisionRecord.created_at, DecisionRecord.decision_id)).scalars().all()
        assert all(replay(session, record.decision_id).same for record in changes)
    mine = [record for record in changes if record.firm_id == firm]
    actor = f"key:{key_id(console_app, 'console-finance')}"  # the audit actor is the key's id
    assert [(r.reason_codes, r.actor, r.request) for r in mine] == [
        (["frozen_by_finance"], actor,
         {"line_id": line.line_id, "action": "freeze", "reason": "Arrears at a big supplier.", "limit": None}),
        (["unfrozen_by_finance"], actor,
         {"line_id": line.line_id, "action": "unfreeze", "reason": "Paid up.", "limit": None}),
        (["limit_changed_by_finance"], actor,
         {"line_id": line.line_id, "action": "change_limit", "reason": "Seasonal peak.", "limit": "12000.00"}),
    ]
    through_api = next(record for record in changes if record.firm_id == other)
    assert (through_api.reason_codes, through_api.actor, sorted(through_api.request)) == (
        mine[0].reason_codes, mine[0].actor, sorted(mine[0].request))
    assert mine[2].amount_minor == 1_200_000
    page = parse(finance.get(f"/console/firms/{firm}?changed=change_limit").text)
    assert page.find("p", class_="notice").text == "Line change recorded (change limit)."


@pytest.mark.parametrize(("fields", "field", "message", "status"), [
    ({"action": "freeze", "reason": ""}, "toggle-reason", "A reason is required: say why, in words the audit trail will keep.", 422),
    ({"action": "change_limit", "limit": "15000", "reason": " "}, "limit-reason",
     "A reason is required: say why, in words the audit trail will keep.", 422),
    ({"action": "change_limit", "limit": "-1", "reason": "r"}, "limit", "The limit cannot be negative.", 422),
    ({"action": "change_limit", "limit": "12k", "reason": "r"}, "limit",
     "The limit must be a number of euros such as 25000 or 25000.50; “12k” is not.", 422),
    ({"action": "change_limit", "limit": "2000000", "reason": "r"}, "limit",
     "The limit must be at most EUR 1,000,000.00, the largest line the credit policy offers; "
     "EUR 2,000,000.00 is above it.", 422),
    ({"action": "change_limit", "limit": "500", "reason": "r"}, "limit",
     "The limit must be at least EUR 1,000.00, the smallest line the credit policy offers; EUR 500.00 is below it.", 422),
    ({"action": "change_limit", "limit": "", "reason": "r"}, "limit", "Enter the new limit in euros, e.g. 25000 or 25000.50.", 422),
    ({"action": "close", "reason": "r"}, "action", "Choose a change: freeze, unfreeze or change the limit.", 422),
])
def test_bad_input_on_a_line_form_is_named_and_nothing_is_saved(finance, console_app, book, fields, field, message,
                                                               status) -> None:
    firm = book.approved_firms[4]
    before = store_counts(console_app.state.engine)
    response = change(finance, firm, **fields)
    assert response.status_code == status
    page = parse(response.text)
    if field == "action":
        assert message in [p.text for p in page.find_all("p", class_="error")]
    else:
        assert page.find(id=f"{field}-error").text == message
    assert store_counts(console_app.state.engine) == before


def test_a_limit_below_what_is_used_is_refused_with_the_amounts_and_nothing_saved(finance, console_app, book) -> None:
    firm = book.approved_firms[4]
    line = line_of(console_app, firm)
    assert line.posted_minor + line.pending_minor > 100_000
    before = store_counts(console_app.state.engine)
    response = change(finance, firm, action="change_limit", limit="1000", reason="Cut it.")
    assert response.status_code == 409
    assert parse(response.text).find(id="limit-error").text == (
        f"The limit cannot go below what the buyer already uses (EUR {euros(line.posted_minor)} posted + "
        f"EUR {euros(line.pending_minor)} held). Wait for repayments, or freeze the line meanwhile.")
    assert store_counts(console_app.state.engine) == before


def test_a_firm_without_a_line_has_no_line_forms_and_a_posted_change_saves_nothing(finance, console_app) -> None:
    with console_app.state.engine.connect() as connection:
        firm = connection.execute(text("SELECT firm_id FROM firms WHERE firm_id NOT IN "
                                       "(SELECT firm_id FROM credit_lines) ORDER BY firm_id LIMIT 1")).scalar_one()
    page = parse(finance.get(f"/console/firms/{firm}").text)
    assert not page.find_all("section", class_="line-forms")
    assert page.find("section", class_="line-card").text.endswith("A line opens when a credit-line application is approved.")
    before = store_counts(console_app.state.engine)
    token = form_token(finance.get("/console/queue").text)
    response = finance.post(f"/console/firms/{firm}/line", data={"action": "freeze", "reason": "r", "csrf_token": token})
    assert response.status_code == 409
    assert store_counts(console_app.state.engine) == before


@pytest.mark.parametrize("firm", ["999999", "0", "-3", "abc", "99999999999999999999999", "1.5"])
def test_an_unknown_or_malformed_firm_is_a_not_found_page(finance, firm) -> None:
    response = finance.get(f"/console/firms/{firm}")
    assert response.status_code == 404
    assert "firm" in parse(response.text).find("main").text.lower()
    found = finance.get(f"/console/firms?firm_id={firm}")
    assert found.status_code in (303, 404)


def test_a_line_form_from_an_earlier_session_is_refused_and_saves_nothing(finance, console_app, book) -> None:
    firm = book.approved_firms[2]
    stale = form_token(finance.get(f"/console/firms/{firm}").text)
    finance.post("/console/sign-out", data={"csrf_token": stale})
    sign_in(finance, book.keys["finance"])
    before = store_counts(console_app.state.engine)
    response = finance.post(f"/console/firms/{firm}/line",
                            data={"action": "freeze", "reason": "Arrears.", "csrf_token": stale})
    assert response.status_code == 403
    assert "opened in an earlier session" in parse(response.text).find("p", class_="form-error").text
    assert store_counts(console_app.state.engine) == before and line_of(console_app, firm).status == "active"
