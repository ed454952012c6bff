"""The application page and its review form: the numbers behind a referral, and the review as the API's own decision."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import select

from credit import clock
from credit.audit import DecisionRecord, replay
from credit.decisions.codes import describe
from credit.models import REGISTERED_MODEL
from credit.models.reasons import feature_reason_codes
from credit.models.serving import ServingModel, restore_categories
from credit.origination.tables import CreditLineApplicationRecord as Application
from credit.scoring.tables import ScoreSnapshot
from tests.api.conftest import auth
from tests.api.console.facts import ageing, euros, percent_of, store_counts
from tests.api.console.pages import form_token, parse
from tests.api.console.rescore import rescore
from tests.api.console.test_sign_in import key_id

REASON = "Long record of paying on time; the proposed limit fits its purchases."


def review(client, decision_id: str, **fields: str):  # noqa: ANN201, ANN001
    """Open the application page and post its review form, as a browser does."""
    token = form_token(client.get(f"/console/applications/{decision_id}").text)
    return client.post(f"/console/applications/{decision_id}/review", data={"csrf_token": token, **fields})


def records(app, decision_id: str) -> tuple[Application, DecisionRecord, DecisionRecord | None]:  # noqa: ANN001
    with app.state.sessionmaker() as session:
        row = session.get(Application, decision_id)
        return row, session.get(DecisionRecord, decision_id), (
            session.get(DecisionRecord, row.review_decision_id) if row.review_decision_id else None)


def test_the_page_shows_the_decision_its_reasons_the_features_behind_them_exposure_and_ageing(
        finance, console_app, book) -> None:
    decision_id = book.referred[0]
    row, record, _ = records(console_app, decision_id)
    response = finance.get(f"/console/applications/{decision_id}")
    assert response.status_code == 200
    page = parse(response.text)
    facts = page.find("dl", class_="facts").text
    pd_then = percent_of(Decimal(record.result["pd"]))
    assert (f"Score (grade, 12-month PD) now {record.result['grade']} {pd_then} (scored {row.score_as_of}) "
            "(the same as at application)") in facts
    assert not page.find_all(data_score_warning="grade")
    assert f"Proposed limit EUR {euros(record.result['limit_minor'])}" in facts
    assert f"Per-order cap EUR {euros(record.result['per_order_cap_minor'])}" in facts
    assert f"{REGISTERED_MODEL} v1, as of {row.score_as_of.isoformat()}" in facts
    reasons = " ".join(item.text for item in page.find_all("ul", class_="reasons"))
    for code in record.reason_codes:
        assert describe(code) in reasons

    # the features behind the first model reason: the snapshot's values, weighted by LightGBM's own TreeSHAP
    model = ServingModel.load(book.serving)
    with console_app.state.sessionmaker() as session:
        features = session.execute(select(ScoreSnapshot.features).where(
            ScoreSnapshot.firm_id == row.firm_id, ScoreSnapshot.as_of == row.score_as_of)).scalar_one()
    frame = pd.DataFrame({name: [features[name]] for name in model.features})
    frame = restore_categories(frame.astype({name: float for name in model.features if name not in model.categories}),
                               model.categories)
    weights = dict(zip(model.features, model.booster.predict(frame, pred_contrib=True)[0][:-1], strict=True))
    first = next(code for code in record.reason_codes if code.startswith("R"))
    heading = next(h for h in page.find_all("h3") if h.text.endswith(describe(first)))
    table = page.find_all("table", class_="features")[0]
    assert heading.text == f"{first} {describe(first)}"
    shown = [(cells[1].text, cells[2].text) for cells in (tr.find_all("td") for tr in table.find("tbody").find_all("tr"))]
    assert shown, "the first model reason lists the features that raised the PD"
    listed_weights = [float(weight) for _, weight in shown]
    assert listed_weights == sorted(listed_weights, reverse=True) and listed_weights[0] > 0
    codes = feature_reason_codes(list(weights))
    assert listed_weights[0] == round(max(weight for name, weight in weights.items() if codes[name] == first), 3)
    assert len(shown) == min(5, sum(1 for name, weight in weights.items()
                                    if codes[name] == first and weight >= 0.0005)) or len(shown) == 3

    exposure = next(card for card in page.find_all("section", class_="card") if card.find("h2").text == "Exposure now")
    assert exposure.text == "Exposure now No credit line yet: nothing posted or held."
    expected = ageing(console_app.state.engine, row.firm_id, clock.now())
    for label, (count, outstanding) in expected.items():
        cells = page.find("tr", data_bucket=label).find_all("td")
        assert (cells[0].text, cells[1].text) == (str(count), euros(outstanding)), label
    assert page.find("form", action=f"/console/applications/{decision_id}/review")


def test_a_firm_rescored_into_another_grade_since_its_application_shows_both_scores_and_the_review_form_warns(
        finance, console_app, book) -> None:
    decision_id = book.referred[0]
    row, record, _ = records(console_app, decision_id)
    then = record.result["grade"]
    moved = rescore(console_app, row.firm_id, then)
    now_grade, now_pd = ("D", "1.23%") if then == "E" else ("E", "2.59%")  # the PDs rescore() stores, graded by hand
    pd_then = percent_of(Decimal(record.result["pd"]))
    page = parse(finance.get(f"/console/applications/{decision_id}").text)
    assert page.find("div", class_="score-facts").text == (
        f"Score (grade, 12-month PD) now {now_grade} {now_pd} (scored {moved.as_of}) "
        f"· at application {then} {pd_then} (scored {row.score_as_of})")
    warning = page.find("section", class_="review").find("p", data_score_warning="grade")
    assert warning.attrs["role"] == "alert"
    assert warning.text == (f"The grade moved from {then} to {now_grade} since this application was scored on "
                            f"{row.score_as_of} (PD {pd_then} then, {now_pd} now, scored {moved.as_of}); "
                            "check before you decide.")
    # the audit record's page says the same, against the decision
    decision = parse(finance.get(f"/console/decisions/{decision_id}").text)
    assert decision.find("div", class_="score-facts").text == (
        f"Score (grade, 12-month PD) now {now_grade} {now_pd} (scored {moved.as_of}) "
        f"· at the decision {then} {pd_then} (scored {row.score_as_of})")


def test_approving_in_the_console_is_the_same_audited_review_as_approving_through_the_api(
        finance, console_app, book) -> None:
    in_console, through_api = book.referred[0], book.referred[1]
    response = review(finance, in_console, action="approve", reason=REASON)
    assert (response.status_code, response.headers["location"]) == (
        303, f"/console/applications/{in_console}?reviewed=1")
    api = finance.post(f"/v1/credit-lines/applications/{through_api}/review",
                       json={"action": "approve", "reason": REASON},
                       headers=auth(book.keys["finance"]) | {"Idempotency-Key": "api-review"})
    assert api.status_code == 200, api.text
    reviews = {}
    for decision_id in (in_console, through_api):
        row, application, reviewed = records(console_app, decision_id)
        assert row.status == "reviewed" and row.line_id is not None
        assert (reviewed.kind, reviewed.outcome, reviewed.actor, reviewed.parent_decision_id) == (
            "credit_line_review", "approve", f"key:{key_id(console_app, 'console-finance')}", decision_id)
        assert reviewed.amount_minor == application.result["limit_minor"]  # approved as proposed
        assert reviewed.request == {"action": "approve", "limit": None, "reason": REASON}
        with console_app.state.sessionmaker() as session:
            assert replay(session, reviewed.decision_id).same
        reviews[decision_id] = reviewed
    console, api_review = reviews[in_console], reviews[through_api]
    assert (console.reason_codes, console.next_actions, console.rules_fired, console.policy_version,
            console.model_name, console.model_version, sorted(console.amounts), sorted(console.inputs)) == (
        api_review.reason_codes, api_review.next_actions, api_review.rules_fired, api_review.policy_version,
        api_review.model_name, api_review.model_version, sorted(api_review.amounts), sorted(api_review.inputs))
    credit = finance.get(f"/v1/firms/{records(console_app, in_console)[0].firm_id}/credit",
                         headers=auth(book.keys["finance"])).json()
    assert (credit["line_status"], credit["limit"]) == ("active", euros(console.amount_minor).replace(",", ""))
    page = parse(finance.get(f"/console/applications/{in_console}?reviewed=1").text)
    assert page.find("p", class_="notice").text.startswith("Review recorded: approve")
    assert "Reason " + REASON in page.find("section", class_="review").text


def test_approving_with_another_limit_opens_the_line_at_that_limit(finance, console_app, book) -> None:
    decision_id = book.referred[0]
    response = review(finance, decision_id, action="change_limit", limit="12,500.50", reason="Start smaller.")
    assert response.status_code == 303
    row, _, reviewed = records(console_app, decision_id)
    assert (reviewed.outcome, reviewed.amount_minor, reviewed.reason_codes) == (
        "approve", 1_250_050, ["finance_changed_limit"])
    assert reviewed.request == {"action": "change_limit", "limit": "12500.50", "reason": "Start smaller."}
    lines = {line.line_id: line for line in store_counts(console_app.state.engine)["lines"]}
    assert lines[row.line_id].limit_minor == 1_250_050


def test_declining_records_the_decline_and_opens_no_line(finance, console_app, book) -> None:
    decision_id = book.referred[0]
    lines_before = len(store_counts(console_app.state.engine)["lines"])
    assert review(finance, decision_id, action="decline", reason="Too concentrated.").status_code == 303
    row, _, reviewed = records(console_app, decision_id)
    assert (row.status, row.line_id, reviewed.outcome, reviewed.reason_codes) == (
        "reviewed", None, "decline", ["finance_declined"])
    assert len(store_counts(console_app.state.engine)["lines"]) == lines_before


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"action": "approve", "reason": ""}, "reason", "A reason is required: say why, in words the audit trail will keep."),
    ({"action": "decline", "reason": "   \n "}, "reason", "A reason is required: say why, in words the audit trail will keep."),
    ({"action": "approve", "reason": "x" * 1001}, "reason", "The reason has at most 1,000 characters; this one has 1,001."),
    ({"action": "change_limit", "limit": "-5000", "reason": "r"}, "limit", "The limit cannot be negative."),
    ({"action": "change_limit", "limit": "ten thousand", "reason": "r"}, "limit",
     "The limit must be a number of euros such as 25000 or 25000.50; “ten thousand” is not."),
    ({"action": "change_limit", "limit": "1e6", "reason": "r"}, "limit",
     "The limit must be a number of euros such as 25000 or 25000.50; “1e6” is not."),
    ({"action": "change_limit", "limit": "1000000.01", "reason": "r"}, "limit",
     "The limit must be at most EUR 1,000,000.00, the largest line the credit policy offers; "
     "EUR 1,000,000.01 is above it."),
    ({"action": "change_limit", "limit": "9" * 40, "reason": "r"}, "limit",
     "The limit is far too large: at most 1,000,000,000,000 euros."),
    ({"action": "change_limit", "limit": "999.99", "reason": "r"}, "limit",
     "The limit must be at least EUR 1,000.00, the smallest line the credit policy offers; EUR 999.99 is below it."),
    ({"action": "change_limit", "limit": "0", "reason": "r"}, "limit",
     "The limit must be at least EUR 1,000.00, the smallest line the credit policy offers; EUR 0.00 is below it."),
    ({"action": "change_limit", "limit": "5000.005", "reason": "r"}, "limit",
     "The limit has at most 2 decimal places (cents); “5000.005” has more."),
    ({"action": "change_limit", "limit": "", "reason": "r"}, "limit", "Enter the new limit in euros, e.g. 25000 or 25000.50."),
    ({"action": "approve", "limit": "5000", "reason": "r"}, "limit",
     "A limit goes with “change the limit” only: clear the field or choose that action."),
    ({"reason": "r"}, "action", "Choose what to do: approve, approve with another limit, or decline."),
    ({"action": "approve_all", "reason": "r"}, "action", "Choose what to do: approve, approve with another limit, or decline."),
])
def test_bad_input_is_named_next_to_its_field_and_nothing_is_saved(finance, console_app, book, fields, field,
                                                                  message) -> None:
    decision_id = book.referred[0]
    before = store_counts(console_app.state.engine)
    response = review(finance, decision_id, **fields)
    assert response.status_code == 422
    page = parse(response.text)
    assert page.find(id=f"{field}-error").text == message
    if field != "action":
        assert page.find(id=field).attrs.get("aria-invalid") == "true"
    if fields.get("reason", "").strip() and field != "reason":
        assert page.find("textarea", name="reason").text == fields["reason"]  # what was typed is kept
    assert store_counts(console_app.state.engine) == before
    assert records(console_app, decision_id)[0].status == "referred"


def test_a_reviewed_application_cannot_be_reviewed_again(finance, console_app, book) -> None:
    decision_id = book.referred[0]
    token = form_token(finance.get(f"/console/applications/{decision_id}").text)
    assert finance.post(f"/console/applications/{decision_id}/review",
                        data={"action": "decline", "reason": "no", "csrf_token": token}).status_code == 303
    before = store_counts(console_app.state.engine)
    again = finance.post(f"/console/applications/{decision_id}/review",  # the form, submitted twice
                         data={"action": "approve", "reason": "yes after all", "csrf_token": token})
    assert again.status_code == 409
    assert parse(again.text).find("p", class_="form-error").text == (
        "This application is reviewed already: only a referred application is reviewed, and only once. "
        "Nothing was saved.")
    assert store_counts(console_app.state.engine) == before
    assert records(console_app, decision_id)[2].outcome == "decline"


@pytest.mark.parametrize("decision_id", ["00000000-0000-0000-0000-000000000000", "not-an-id", "x" * 300])
def test_an_unknown_application_is_a_not_found_page(finance, decision_id) -> None:
    response = finance.get(f"/console/applications/{decision_id}")
    assert response.status_code == 404 and "No credit-line application" in parse(response.text).find("main").text
    posted = finance.post(f"/console/applications/{decision_id}/review", data={"action": "approve", "reason": "r"})
    assert posted.status_code in (403, 404)


def test_an_application_approved_at_once_has_no_review_form(finance, console_app) -> None:
    with console_app.state.sessionmaker() as session:
        approved = session.execute(select(Application.decision_id).where(Application.status == "approved")).scalar()
    page = parse(finance.get(f"/console/applications/{approved}").text)
    assert page.find("section", class_="review").find("h2").text == "Decided at once"
    assert not page.find_all("form", action=f"/console/applications/{approved}/review")
