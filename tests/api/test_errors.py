"""Every error is JSON in the documented shape with a machine code; bad input is never a 500."""

from __future__ import annotations

import inspect
import logging

import pytest

from api.kit.errors import LEDGER_STATUS, as_service_error
from credit.ledger import errors as ledger_errors
from credit.servicing import errors as servicing_errors
from tests.api.conftest import auth


def _error(response):  # noqa: ANN001
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    return body["error"]


def test_unknown_route_is_a_json_404(client):
    response = client.get("/v1/no-such-thing")
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


def test_wrong_method_is_a_json_405(client):
    response = client.delete("/v1/health")
    assert response.status_code == 405 and _error(response)["code"] == "method_not_allowed"


def test_malformed_json_is_a_422_with_its_location(client, keys):
    response = client.post("/v1/test/bookings", content=b'{"reference": "a", "amount": ',
                           headers={**auth(keys["admin"]), "Idempotency-Key": "k", "Content-Type": "application/json"})
    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "validation_failed"
    assert error["details"][0]["loc"] == ["body", 29] and error["details"][0]["type"] == "json_invalid"


def test_invalid_field_is_a_422_naming_the_field(client, keys):
    response = client.post("/v1/test/bookings", json={"reference": "a", "amount": "1.234", "extra": 1},
                           headers={**auth(keys["admin"]), "Idempotency-Key": "k"})
    assert response.status_code == 422
    locs = {tuple(d["loc"]) for d in _error(response)["details"]}
    assert locs == {("body", "amount"), ("body", "extra")}
    assert _error(response)["message"].startswith("body.")


def test_body_over_the_limit_is_a_json_413(client, keys):
    big = {"reference": "a", "amount": "1", "pad": "x" * 70_000}
    response = client.post("/v1/test/bookings", json=big, headers={**auth(keys["admin"]), "Idempotency-Key": "k"})
    assert response.status_code == 413
    assert _error(response)["code"] == "payload_too_large"


def test_chunked_body_over_the_limit_is_a_json_413(client, keys):
    def chunks():
        for _ in range(20):
            yield b"x" * 8192

    response = client.post("/v1/test/bookings", content=chunks(),
                           headers={**auth(keys["admin"]), "Idempotency-Key": "k", "Content-Type": "application/json"})
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 413
    assert _error(response)["code"] == "payload_too_large"


def test_unexpected_error_is_a_generic_500_and_is_logged(client, caplog):
    with caplog.at_level(logging.ERROR, logger="api.errors"):
        response = client.get("/v1/test/crash")
    assert response.status_code == 500
    assert _error(response) == {"code": "internal_error", "message": "An unexpected error occurred; it has been logged."}
    assert "secret internal detail" not in response.text
    assert any("secret internal detail" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


def test_non_numeric_path_id_is_a_422(client, keys):
    response = client.delete("/v1/api-keys/abc", headers=auth(keys["admin"]))
    assert response.status_code == 422 and _error(response)["details"][0]["loc"] == ["path", "key_id"]


def test_openapi_documents_versioned_paths_and_the_error_body(client):
    schema = client.get("/v1/openapi.json").json()
    assert all(path.startswith("/v1/") for path in schema["paths"])
    post = schema["paths"]["/v1/api-keys"]["post"]
    assert post["responses"]["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert post["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in post["parameters"])
    assert {"HTTPBearer", "APIKeyHeader"} <= set(schema["components"]["securitySchemes"])
    assert "ErrorBody" in schema["components"]["schemas"]


# Worked out from what each refusal means, not read from the kit's table: a missing object is
# 404 under the API's ``<thing>_not_found`` code, an unbookable amount 422, a state conflict 409.
LEDGER_ANSWERS = {
    "HoldNotFound": (404, "hold_not_found"), "NoLine": (404, "line_not_found"), "FirmNotFound": (404, "unknown_firm"),
    "InvalidAmount": (422, "invalid_amount"),
    "LineExists": (409, "line_exists"), "LimitBelowExposure": (409, "limit_below_exposure"),
    "LineNotEmpty": (409, "line_not_empty"), "LineClosed": (409, "line_closed"), "LineFrozen": (409, "line_frozen"),
    "PerOrderCapExceeded": (409, "per_order_cap_exceeded"), "LimitExceeded": (409, "limit_exceeded"),
    "HoldNotPending": (409, "hold_not_pending"), "HoldExpired": (409, "hold_expired"),
    "CaptureExceedsHold": (409, "capture_exceeds_hold"), "RefundExceedsCaptured": (409, "refund_exceeds_captured"),
    "ExceedsPosted": (409, "exceeds_posted"), "DuplicateReference": (409, "duplicate_reference"),
    "Decline": (409, "ledger_error"), "LedgerError": (409, "ledger_error"),
    # servicing's
    "TermsNotAllowed": (422, "terms_not_allowed"), "RefundExceedsReceivables": (409, "refund_exceeds_receivables"),
    "RepaymentNotFound": (404, "repayment_not_found"), "RepaymentReturned": (409, "repayment_returned"),
    "RepaymentRefunded": (409, "repayment_refunded"), "ReceivableNotOnLine": (422, "receivable_not_on_line"),
    "ExceedsCreditBalance": (409, "exceeds_credit_balance"),
    "ReceivableNotFound": (404, "receivable_not_found"), "InstallmentsNotAllowed": (422, "installments_not_allowed"),
    "ReceivableNotReschedulable": (409, "receivable_not_reschedulable"),
    "InstallmentPlanExists": (409, "installment_plan_exists"), "NoInstallmentPlan": (409, "no_installment_plan"),
    "PlanNotSettleable": (409, "plan_not_settleable"), "SettlementShort": (409, "settlement_amount_short"),
}
LEDGER_REFUSALS = [cls for module in (ledger_errors, servicing_errors)
                   for _, cls in inspect.getmembers(module, inspect.isclass)
                   if issubclass(cls, ledger_errors.LedgerError)]


def test_every_ledger_refusal_has_a_status_chosen_for_it():
    assert set(LEDGER_STATUS) == set(LEDGER_REFUSALS)
    assert {cls.__name__ for cls in LEDGER_REFUSALS} == set(LEDGER_ANSWERS)


@pytest.mark.parametrize("refusal", LEDGER_REFUSALS, ids=lambda cls: cls.__name__)
def test_a_ledger_refusal_is_answered_with_its_status_code_and_decimal_amounts(refusal):
    error = as_service_error(refusal("Refused.", hold_id=7, remaining_minor=40_000))
    assert (error.status_code, error.code) == LEDGER_ANSWERS[refusal.__name__]
    assert (error.message, error.details) == ("Refused.", {"hold_id": 7, "remaining": "400.00"})


def test_a_ledger_refusal_nobody_listed_takes_its_parents_status():
    class LineOnFire(ledger_errors.Decline):
        code = "line_on_fire"

    error = as_service_error(LineOnFire("Refused."))
    assert (error.status_code, error.code) == (409, "line_on_fire")
