"""The review queue: every referred application, oldest first, with its numbers, and the filters."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from credit import clock
from credit.audit import DecisionRecord
from credit.decisions.codes import describe
from credit.origination.tables import CreditLineApplicationRecord as Application
from credit.store.tables import Firm
from tests.api.console.facts import euros, percent_of
from tests.api.console.pages import parse
from tests.api.console.rescore import rescore


def referred(app) -> list:  # noqa: ANN001
    """Referred applications from the store, oldest first, with what the queue shows."""
    with app.state.sessionmaker() as session:
        return session.execute(
            select(Application.decision_id, Application.firm_id, Application.created_at, Application.score_as_of,
                   Firm.name, DecisionRecord.result, DecisionRecord.reason_codes)
            .join(DecisionRecord, DecisionRecord.decision_id == Application.decision_id)
            .join(Firm, Firm.firm_id == Application.firm_id)
            .where(Application.status == "referred")
            .order_by(Application.created_at, Application.decision_id)).all()


def listed(response) -> list[str]:  # noqa: ANN001
    return [row.attrs["data-decision-id"] for row in parse(response.text).find_all("tr") if "data-decision-id" in row.attrs]


def test_the_queue_lists_every_referred_application_oldest_first_with_firm_grade_pd_limit_and_reasons(
        finance, console_app) -> None:
    expected = referred(console_app)
    assert len(expected) >= 3
    response = finance.get("/console/queue")
    assert response.status_code == 200
    assert listed(response) == [row.decision_id for row in expected]
    page = parse(response.text)
    assert f"{len(expected)} referred applications waiting for review" in page.find("p", class_="lead").text
    for row in expected:
        cells = page.find("tr", data_decision_id=row.decision_id).find_all("td")
        assert cells[1].text == f"{row.name} firm {row.firm_id}"
        # nothing was scored since the applications: the score now is theirs, and no marker
        assert cells[2].text == f"{row.result['grade']} {percent_of(Decimal(row.result['pd']))} (scored {row.score_as_of})"
        assert cells[3].text == "the same"
        assert cells[4].text == euros(row.result["limit_minor"])
        assert cells[5].text == "—"  # the book's applications asked for no amount: the policy proposed one
        referral = [describe(code) for code in row.reason_codes if code.startswith("refer_")]
        model = [describe(code) for code in row.reason_codes if code.startswith("R")][:2]
        assert cells[6].text == " ".join(referral) and cells[7].text == " ".join(model)
        assert page.find("tr", data_decision_id=row.decision_id).find("a", class_="button").attrs["href"] == \
            f"/console/applications/{row.decision_id}"


def test_filtering_by_grade_limit_range_and_reason_keeps_the_matching_applications_in_order(finance, console_app) -> None:
    expected = referred(console_app)
    grade = expected[0].result["grade"]
    assert listed(finance.get(f"/console/queue?grade={grade}")) == [
        row.decision_id for row in expected if row.result["grade"] == grade]
    limits = sorted(row.result["limit_minor"] for row in expected)
    low, high = limits[1], limits[-2]
    response = finance.get(f"/console/queue?min_limit={Decimal(low) / 100}&max_limit={Decimal(high) / 100}")
    assert listed(response) == [row.decision_id for row in expected if low <= row.result["limit_minor"] <= high]
    assert f"{len(listed(response))} match the filters" in parse(response.text).find("p", class_="lead").text
    # the referral codes the book's applications carry (which ones depends on the day the book is
    # replayed); a code none carries is refused with a message, not silently ignored
    carried = sorted({code for row in expected for code in row.reason_codes if code.startswith("refer_")})
    assert carried
    for code in carried:
        assert listed(finance.get(f"/console/queue?reason={code}")) == [
            row.decision_id for row in expected if code in row.reason_codes]
    absent = "refer_by_no_rule"
    refused = finance.get(f"/console/queue?reason={absent}")
    assert refused.status_code == 400
    assert f"No application in the queue carries the reason code “{absent}”." in refused.text


def test_filtering_by_age_in_days(finance, console_app) -> None:
    expected = referred(console_app)
    older = expected[-1].decision_id  # the newest, made 10 days old: it moves to the front
    with console_app.state.engine.begin() as connection:
        connection.execute(update(Application).where(Application.decision_id == older)
                           .values(created_at=clock.now() - timedelta(days=10, hours=1)))
    assert listed(finance.get("/console/queue"))[0] == older
    assert listed(finance.get("/console/queue?min_age=10")) == [older]
    assert listed(finance.get("/console/queue?min_age=11")) == []
    assert older not in listed(finance.get("/console/queue?max_age=9"))
    assert len(listed(finance.get("/console/queue?max_age=9"))) == len(expected) - 1
    row = parse(finance.get("/console/queue").text).find("tr", data_decision_id=older)
    assert row.find("td").text.startswith("10 days")


@pytest.mark.parametrize(("query", "field", "message"), [
    ("grade=Z", "grade", "There is no grade “Z” on the master scale (A, B, C, D, E, F, G, H)."),
    ("min_limit=lots", "min_limit", "The smallest limit must be a number of euros such as 25000 or 25000.50; “lots” is not."),
    ("max_limit=-5", "max_limit", "The largest limit cannot be negative."),
    ("min_age=two", "min_age", "The least age is a whole number of days, such as 3; “two” is not."),
    ("reason=nope", "reason", "No application in the queue carries the reason code “nope”."),
])
def test_a_filter_that_is_not_understood_is_named_and_left_out(finance, console_app, query, field, message) -> None:
    response = finance.get(f"/console/queue?{query}")
    assert response.status_code == 400
    page = parse(response.text)
    assert page.find(id=f"{field}-error").text == message
    assert listed(response) == [row.decision_id for row in referred(console_app)]


def test_a_referral_whose_firm_was_rescored_into_another_grade_shows_both_scores_with_their_dates_and_a_marker(
        finance, console_app) -> None:
    expected = referred(console_app)
    stale, fresh = expected[0], expected[1:]
    then = stale.result["grade"]
    moved = rescore(console_app, stale.firm_id, then)
    now_grade, now_pd = ("D", "1.23%") if then == "E" else ("E", "2.59%")  # the PDs rescore() stores, graded by hand
    page = parse(finance.get("/console/queue").text)
    row = page.find("tr", data_decision_id=stale.decision_id)
    cells = row.find_all("td")
    assert row.attrs.get("class") == "score-stale"
    assert cells[2].text == f"{now_grade} {now_pd} (scored {moved.as_of}) grade moved {then} → {now_grade}"
    assert cells[3].text == f"{then} {percent_of(Decimal(stale.result['pd']))} (scored {stale.score_as_of})"
    assert row.find_all("span", data_score_moved="grade")
    for other in fresh:  # another firm's applications are as they were
        if other.firm_id != stale.firm_id:
            assert not page.find("tr", data_decision_id=other.decision_id).find_all("span", class_="score-moved")
