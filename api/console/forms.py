"""The console's forms: read what a person typed, say clearly what is wrong with it, field by field.

A form is checked here before anything is decided, with the same bounds the decision
functions and the HTTP API apply (reason 1-1000 characters and not blank, a limit within the
credit policy's smallest and largest line), so a mistake is a message next to its field, not
an error from deep inside. What passes is handed to :mod:`api.credit_lines.service`, whose
refusals (an application reviewed meanwhile, a limit below what is already used), as the
API's errors (:func:`api.kit.errors.as_service_error`), are turned into messages by
:func:`service_error_messages`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from api.console.display import money
from api.kit.errors import ServiceError
from api.kit.money import MARKETPLACE_CURRENCY, MAX_MAJOR_UNITS, from_minor, to_minor
from credit.policy import Policy

REASON_MAX_LENGTH = 1000
"""As the API's ``reason`` field (:mod:`api.credit_lines.schemas`)."""

REVIEW_ACTIONS: dict[str, str] = {
    "approve": "Approve the proposed limit", "change_limit": "Approve with another limit", "decline": "Decline",
}
LINE_ACTIONS: dict[str, str] = {"freeze": "Freeze the line", "unfreeze": "Unfreeze the line",
                                "change_limit": "Change the limit"}

_PLAIN = re.compile(r"^[0-9]+(\.[0-9]*)?$|^\.[0-9]+$")
_GROUPED = re.compile(r"^[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?$")  # 25,000.50
_LONGEST_AMOUNT = 40
_PLACES = 2  # EUR cents


@dataclass
class FormResult:
    """What a form said: the values to decide on when ``errors`` is empty, else a message per field.

    ``values`` holds the text as typed, to put back in the form when it is shown again.
    """

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    action: str | None = None
    limit_minor: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_amount(text: str | None, what: str = "The limit") -> tuple[int | None, str | None]:
    """An amount in euros as typed (``25000``, ``25000.50``, ``25,000.50``) to minor units.

    Returns
    -------
    tuple
        ``(minor units, None)``, ``(None, None)`` for an empty field, or ``(None, message)``.
    """
    text = (text or "").strip()
    if not text:
        return None, None
    if len(text) > _LONGEST_AMOUNT:
        return None, f"{what} must be a number of euros such as 25000 or 25000.50."
    negative = text.startswith("-")
    digits = text[1:].strip() if negative or text.startswith("+") else text
    if not (_PLAIN.match(digits) or _GROUPED.match(digits)):
        return None, f"{what} must be a number of euros such as 25000 or 25000.50; “{text}” is not."
    try:
        value = Decimal(digits.replace(",", ""))
    except InvalidOperation:
        return None, f"{what} must be a number of euros such as 25000 or 25000.50; “{text}” is not."
    if negative and value != 0:
        return None, f"{what} cannot be negative."
    if value > MAX_MAJOR_UNITS:
        return None, f"{what} is far too large: at most {MAX_MAJOR_UNITS:,} euros."
    if value != value.quantize(Decimal(1).scaleb(-_PLACES)):
        return None, f"{what} has at most {_PLACES} decimal places (cents); “{text}” has more."
    return int(value.scaleb(_PLACES)), None


def policy_limit_error(limit_minor: int, policy: Policy) -> str | None:
    """Why a line limit is outside the policy's smallest and largest line, or None when it is inside."""
    bounds = policy.credit_line.limit
    if limit_minor < bounds.min_limit_minor:
        return (f"The limit must be at least {money(bounds.min_limit_minor)}, the smallest line the credit policy "
                f"offers; {money(limit_minor)} is below it.")
    if limit_minor > bounds.max_limit_minor:
        return (f"The limit must be at most {money(bounds.max_limit_minor)}, the largest line the credit policy "
                f"offers; {money(limit_minor)} is above it.")
    return None


def _reason(text: str | None, errors: dict[str, str]) -> str | None:
    reason = (text or "").strip()
    if not reason:
        errors["reason"] = "A reason is required: say why, in words the audit trail will keep."
        return None
    if len(reason) > REASON_MAX_LENGTH:
        errors["reason"] = f"The reason has at most {REASON_MAX_LENGTH:,} characters; this one has {len(reason):,}."
        return None
    return reason


def _limit_for(action: str | None, text: str | None, policy: Policy, errors: dict[str, str]) -> int | None:
    limit, problem = parse_amount(text)
    if problem:
        errors["limit"] = problem
        return None
    if action != "change_limit":
        if limit is not None:
            errors["limit"] = "A limit goes with “change the limit” only: clear the field or choose that action."
        return None
    if limit is None:
        errors["limit"] = "Enter the new limit in euros, e.g. 25000 or 25000.50."
        return None
    problem = policy_limit_error(limit, policy)
    if problem:
        errors["limit"] = problem
        return None
    return limit


def review_form(action: str | None, limit: str | None, reason: str | None, policy: Policy) -> FormResult:
    """Check a review of a referred application: an action, a limit with "change_limit" only, a reason.

    Returns
    -------
    FormResult
        With ``action``, ``limit_minor`` (for ``change_limit``) and ``reason`` when valid.
    """
    result = FormResult(values={"action": action or "", "limit": limit or "", "reason": reason or ""})
    if action not in REVIEW_ACTIONS:
        result.errors["action"] = "Choose what to do: approve, approve with another limit, or decline."
        action = None
    result.limit_minor = _limit_for(action, limit, policy, result.errors)
    result.reason = _reason(reason, result.errors)
    result.action = action
    return result


def line_change_form(action: str | None, limit: str | None, reason: str | None, policy: Policy) -> FormResult:
    """Check a change to an open line: freeze, unfreeze or a new limit, always with a reason."""
    result = FormResult(values={"action": action or "", "limit": limit or "", "reason": reason or ""})
    if action not in LINE_ACTIONS:
        result.errors["action"] = "Choose a change: freeze, unfreeze or change the limit."
        action = None
    result.limit_minor = _limit_for(action, limit, policy, result.errors)
    result.reason = _reason(reason, result.errors)
    result.action = action
    return result


def amount_text(minor: int) -> str:
    """Minor units as the decimal string the API's schemas take (``2500050`` -> ``"25000.50"``)."""
    return str(from_minor(minor, MARKETPLACE_CURRENCY))


def service_error_messages(exc: ServiceError) -> dict[str, str]:
    """A refusal of the credit-line service as messages for the form: by field where one field is to blame."""
    details = exc.details if isinstance(exc.details, dict) else {}
    if exc.code == "limit_below_exposure":
        used = [f"{money(to_minor(details[name], allow_zero=True))} {word}"
                for name, word in (("posted", "posted"), ("pending", "held")) if name in details]
        return {"limit": "The limit cannot go below what the buyer already uses (" + " + ".join(used) + "). "
                         "Wait for repayments, or freeze the line meanwhile."}
    if exc.code == "limit_out_of_policy":
        return {"limit": exc.message}
    if exc.code == "concentration_cap_exceeded":
        return {"limit": f"{exc.message} Nothing was saved."}
    if exc.code == "application_not_referred":
        return {"form": f"This application is {details.get('status', 'decided')} already: only a referred "
                        "application is reviewed, and only once. Nothing was saved."}
    if exc.code == "line_closed":
        return {"form": "This line is closed: it cannot be changed. Nothing was saved."}
    return {"form": f"{exc.message} Nothing was saved."}
