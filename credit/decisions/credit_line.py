"""Credit-line decisions: an application, the finance team's review of it, and changes to a line.

Pure functions: the caller brings the firm's features as of now, the champion's PD and reason
codes and the policy; nothing here reads a database or a clock, so a stored decision can be
re-run from its inputs (:func:`credit.audit.replay`).

One exposure: a line counts at its limit in the firm's debtor exposure
(:mod:`credit.financing.exposure`), so a limit is bounded by what the debtor concentration cap
(``concentration.per_debtor_minor`` of the line's grade) leaves after the advances the firm owes
on its orders and invoices. An application's limit is cut to it (``limit_by_concentration``);
the finance team's approval or raise above it is refused (:class:`ConcentrationCapExceeded`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from credit.decisions.outcome import (
    FeatureValue,
    Outcome,
    RuleFired,
    as_probability,
    feature_decimal,
    ordered_next_actions,
    ordered_reason_codes,
    plain_features,
)
from credit.decisions.pricing import floor_minor, round_down_to_unit
from credit.money import shown
from credit.policy import Policy

CREDIT_LINE_FEATURES = ("tenure_days", "debtor_days_past_due", "verified", "buyer_gmv_365d")
"""Panel features the credit-line rules read (the model reads its own list)."""

MONTHS_PER_YEAR = Decimal(12)

_KNOCK_OUT_ACTIONS = {
    "too_new": "build_trading_history",
    "overdue_now": "pay_overdue_invoices",
    "unverified": "verify_firm",
    "past_default": "pay_upfront",
    "grade_too_risky": "pay_upfront",
}


class ConcentrationCapExceeded(ValueError):
    """A limit the finance team chose is above what the firm's debtor concentration cap leaves.

    Attributes
    ----------
    limit_minor, cap_minor, exposure_minor, headroom_minor : int
        The limit asked for, the cap of the line's grade, the firm's other debtor exposure,
        and ``max(cap - exposure, 0)``: the largest limit allowed.
    """

    def __init__(self, limit_minor: int, cap_minor: int, exposure_minor: int) -> None:
        self.limit_minor, self.cap_minor, self.exposure_minor = limit_minor, cap_minor, exposure_minor
        self.headroom_minor = max(cap_minor - exposure_minor, 0)
        super().__init__(f"a limit of {shown(limit_minor)} is above the debtor concentration cap {shown(cap_minor)} less "
                         f"the {shown(exposure_minor)} the firm owes on financed orders and invoices: at most "
                         f"{shown(self.headroom_minor)}.")


def _exposure_or_none(value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"`other_debtor_exposure_minor` must be an integer >= 0 or None; got {value!r}.")


def _concentration_headroom(policy: Policy, grade: str, other_exposure: int) -> tuple[int, int]:
    """(cap of ``grade``, the largest limit it leaves after ``other_exposure``)."""
    cap = policy.concentration.per_debtor_minor[grade]
    return cap, max(cap - other_exposure, 0)


@dataclass(frozen=True)
class CreditLineApplication:
    """What a credit-line application is decided on.

    Attributes
    ----------
    firm_id : int
        The applying buyer.
    features : mapping of str to value
        Panel feature values as of now (at least :data:`CREDIT_LINE_FEATURES`; may hold the
        whole row the model scored). NaN and NumPy scalars are normalised to JSON values.
    pd : Decimal
        The champion model's 12-month PD (a float is taken at its shortest repr).
    model_reason_codes : tuple of str
        The model's ordered reason codes (:mod:`credit.models.reasons`).
    defaulted_before : bool
        Whether the firm has a credit event (default, insolvency, write-off) before now.
    requested_limit_minor : int or None
        The limit the buyer asked for; None lets the policy propose one.
    other_debtor_exposure_minor : int or None
        The firm's debtor exposure besides a line: advances outstanding on the orders and
        invoices it owes (:class:`credit.financing.exposure.FirmExposure`). None in decisions
        recorded before the one-exposure cap: not checked.
    """

    firm_id: int
    features: Mapping[str, FeatureValue]
    pd: Decimal
    model_reason_codes: tuple[str, ...] = ()
    defaulted_before: bool = False
    requested_limit_minor: int | None = None
    other_debtor_exposure_minor: int | None = None

    def __post_init__(self) -> None:
        _exposure_or_none(self.other_debtor_exposure_minor)
        object.__setattr__(self, "features", plain_features(self.features))
        object.__setattr__(self, "pd", as_probability(self.pd, "pd"))
        object.__setattr__(self, "model_reason_codes", tuple(self.model_reason_codes))
        if self.requested_limit_minor is not None and (
                isinstance(self.requested_limit_minor, bool) or self.requested_limit_minor <= 0):
            raise ValueError(f"`requested_limit_minor` must be a positive integer or None; "
                             f"got {self.requested_limit_minor!r}.")


@dataclass(frozen=True)
class CreditLineDecision:
    """The outcome of an application, a review or a line change.

    Attributes
    ----------
    outcome : {"approve", "refer", "decline"}
    grade : str
        Grade of ``pd`` on the policy's master scale.
    pd : Decimal
    limit_minor : int
        The limit granted (approve), proposed to the finance team (refer) or 0 (decline).
    per_order_cap_minor : int
        Largest single order on the line; 0 when declined.
    rules_fired : tuple of RuleFired
        In the order the rules applied.
    reason_codes : tuple of str
        Policy codes in rule order, then the model's codes.
    next_actions : tuple of str
        Codes of :data:`credit.decisions.codes.NEXT_ACTIONS`, most useful first.
    """

    outcome: Outcome
    grade: str
    pd: Decimal
    limit_minor: int
    per_order_cap_minor: int
    rules_fired: tuple[RuleFired, ...] = field(default=())
    reason_codes: tuple[str, ...] = field(default=())
    next_actions: tuple[str, ...] = field(default=())

    @property
    def amounts(self) -> dict[str, int]:
        return {"limit_minor": self.limit_minor, "per_order_cap_minor": self.per_order_cap_minor}


def decide_credit_line(application: CreditLineApplication, policy: Policy) -> CreditLineDecision:
    """Decide a credit-line application: knock-outs, limit, referral, per-order cap.

    1. Grade the PD on the master scale.
    2. Knock-outs, each checked and reported: too new, overdue now, past default,
       unverified, grade too risky. Any one declines.
    3. Limit = min(capacity, grade cap, expected-loss cap, max line), where capacity is
       ``capacity_months`` x ``buyer_gmv_365d`` / 12 and the expected-loss cap is
       ``expected_loss_budget`` / (PD x LGD); the binding term is reported. A smaller
       requested amount replaces it. Cut to the debtor concentration cap of the grade less the
       firm's other debtor exposure (``limit_by_concentration``), when that is known. Rounded
       down to the unit; below the minimum line: decline.
    4. Refer when the grade is in the grey zone or the limit is above the review amount.
    5. Per-order cap = min(share x limit rounded down to the unit, fixed maximum).

    Parameters
    ----------
    application
        The firm's inputs; see :class:`CreditLineApplication`.
    policy
        The policy in force.

    Returns
    -------
    CreditLineDecision

    Raises
    ------
    KeyError
        If ``tenure_days`` or ``verified`` is missing from the features (a missing
        ``debtor_days_past_due`` or ``buyer_gmv_365d`` means no invoices / no purchases: 0).
    """
    rules = policy.credit_line
    features = application.features
    pd = application.pd
    grade = policy.grade_of(pd)
    fired: list[RuleFired] = []

    tenure = feature_decimal(features, "tenure_days")
    days_past_due = feature_decimal(features, "debtor_days_past_due", missing=Decimal(0))
    verified = feature_decimal(features, "verified") != 0
    knock = rules.knock_outs
    if tenure < knock.min_tenure_days:
        fired.append(RuleFired("too_new", f"tenure {tenure} days < {knock.min_tenure_days}"))
    if days_past_due > knock.max_days_past_due:
        fired.append(RuleFired("overdue_now", f"{days_past_due} days past due > {knock.max_days_past_due}"))
    if knock.decline_past_default and application.defaulted_before:
        fired.append(RuleFired("past_default", "credit event before now"))
    if knock.require_verified and not verified:
        fired.append(RuleFired("unverified", "firm not verified"))
    if grade in knock.decline_grades:
        fired.append(RuleFired("grade_too_risky", f"grade {grade} (PD {pd}) in {list(knock.decline_grades)}"))
    if fired:
        return _decided("decline", grade, pd, 0, fired, application,
                        [_KNOCK_OUT_ACTIONS[rule.code] for rule in fired], policy)

    formula = rules.limit
    monthly_purchases = feature_decimal(features, "buyer_gmv_365d", missing=Decimal(0)) / MONTHS_PER_YEAR
    terms = {
        "limit_by_capacity": formula.capacity_months * monthly_purchases,
        "limit_by_grade_cap": Decimal(formula.grade_caps_minor[grade]),
        "limit_by_maximum": Decimal(formula.max_limit_minor),
    }
    if pd > 0:  # PD 0 puts no expected-loss bound on the limit
        terms["limit_by_expected_loss"] = formula.expected_loss_budget_minor / (pd * formula.loss_given_default)
    binding = min(terms, key=lambda code: terms[code])  # first of equal terms, in the order above
    limit = floor_minor(terms[binding])
    fired.append(RuleFired(binding, "; ".join(f"{code.removeprefix('limit_by_')} {floor_minor(value)}"
                                              for code, value in terms.items())))
    requested = application.requested_limit_minor
    actions: list[str] = []
    if requested is not None and requested < limit:
        limit = requested
        fired.append(RuleFired("limit_as_requested", f"requested {requested}"))
    other = application.other_debtor_exposure_minor
    if other is not None:
        cap, headroom = _concentration_headroom(policy, grade, other)
        if limit > headroom:
            fired.append(RuleFired("limit_by_concentration", f"limit {limit} > debtor cap {cap} (grade {grade}) "
                                                             f"- financings owed {other} = {headroom}"))
            limit = headroom
    limit = round_down_to_unit(limit, formula.rounding_unit_minor)
    if requested is not None and requested > limit:
        fired.append(RuleFired("limit_below_requested", f"requested {requested} > limit {limit}"))
        actions.append("contact_finance")  # only the finance team can grant more
    if limit < formula.min_limit_minor or limit == 0:
        fired.append(RuleFired("limit_below_minimum", f"limit {limit} < minimum {formula.min_limit_minor}"))
        return _decided("decline", grade, pd, 0, fired, application, ["build_trading_history", "pay_upfront"],
                        policy)

    review = rules.review
    if grade in review.grey_zone_grades:
        fired.append(RuleFired("refer_grey_zone", f"grade {grade} in {list(review.grey_zone_grades)}"))
    if limit > review.refer_above_minor:
        fired.append(RuleFired("refer_above_amount", f"limit {limit} > {review.refer_above_minor}"))
    referred = any(rule.code.startswith("refer_") for rule in fired)
    return _decided("refer" if referred else "approve", grade, pd, limit, fired, application,
                    ["await_finance_review"] if referred else actions, policy)


def per_order_cap_minor(limit_minor: int, policy: Policy) -> int:
    """Largest single order on a line of ``limit_minor``: min(share x limit to the unit, fixed cap)."""
    cap = policy.credit_line.per_order_cap
    unit = policy.credit_line.limit.rounding_unit_minor
    return min(round_down_to_unit(floor_minor(cap.share_of_limit * limit_minor), unit), cap.max_minor)


def _decided(outcome: Outcome, grade: str, pd: Decimal, limit: int, fired: list[RuleFired],
             application: CreditLineApplication, actions: list[str], policy: Policy) -> CreditLineDecision:
    return CreditLineDecision(
        outcome=outcome, grade=grade, pd=pd, limit_minor=limit,
        per_order_cap_minor=per_order_cap_minor(limit, policy) if limit else 0,
        rules_fired=tuple(fired), reason_codes=ordered_reason_codes(fired, application.model_reason_codes),
        next_actions=ordered_next_actions(actions))


ReviewAction = Literal["approve", "change_limit", "decline"]


@dataclass(frozen=True)
class CreditLineReview:
    """The finance team's decision on a referred application.

    Attributes
    ----------
    firm_id : int
    action : {"approve", "change_limit", "decline"}
    referred : CreditLineDecision
        The application's decision as referred (its grade, PD and proposed limit).
    reason : str
        Why, in the reviewer's words: mandatory for every action.
    limit_minor : int or None
        The new limit, for ``change_limit`` only.
    other_debtor_exposure_minor : int or None
        As in :class:`CreditLineApplication`, as of the review.
    """

    firm_id: int
    action: ReviewAction
    referred: CreditLineDecision
    reason: str
    limit_minor: int | None = None
    other_debtor_exposure_minor: int | None = None

    def __post_init__(self) -> None:
        _exposure_or_none(self.other_debtor_exposure_minor)
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise ValueError("a review needs a reason: `reason` must be a non-empty text.")
        if len(self.reason) > 1000:
            raise ValueError(f"`reason` must be at most 1000 characters; got {len(self.reason)}.")
        if (self.action == "change_limit") != (self.limit_minor is not None):
            raise ValueError("`limit_minor` is given with action 'change_limit' and only then.")
        if self.referred.outcome != "refer":
            raise ValueError(f"only a referred application is reviewed; this one was {self.referred.outcome!r}.")


def review_credit_line(review: CreditLineReview, policy: Policy) -> CreditLineDecision:
    """The finance team approves, changes the limit of, or declines a referred application.

    Raises
    ------
    ValueError
        If a changed limit is outside the policy's [min_limit, max_limit].
    ConcentrationCapExceeded
        If the limit approved (proposed or changed) is above what the debtor concentration cap
        leaves after the firm's other debtor exposure (when that is known).
    """
    referred = review.referred
    formula = policy.credit_line.limit
    if review.action == "decline":
        fired = [RuleFired("finance_declined", review.reason)]
        return CreditLineDecision("decline", referred.grade, referred.pd, 0, 0, tuple(fired),
                                  ordered_reason_codes(fired), ordered_next_actions(["contact_finance"]))
    if review.action == "approve":
        limit, fired = referred.limit_minor, [RuleFired("finance_approved", review.reason)]
    else:
        limit = review.limit_minor
        if not formula.min_limit_minor <= limit <= formula.max_limit_minor:
            raise ValueError(f"`limit_minor` must be between the policy's min_limit_minor "
                             f"({formula.min_limit_minor}) and max_limit_minor ({formula.max_limit_minor}); "
                             f"got {limit}.")
        fired = [RuleFired("finance_changed_limit", f"{referred.limit_minor} -> {limit}: {review.reason}")]
    if review.other_debtor_exposure_minor is not None:
        cap, headroom = _concentration_headroom(policy, referred.grade, review.other_debtor_exposure_minor)
        if limit > headroom:
            raise ConcentrationCapExceeded(limit, cap, review.other_debtor_exposure_minor)
    return CreditLineDecision("approve", referred.grade, referred.pd, limit, per_order_cap_minor(limit, policy),
                              tuple(fired), ordered_reason_codes(fired), ())


LineAction = Literal["freeze", "unfreeze", "change_limit"]
_LINE_ACTION_CODES = {"freeze": "frozen_by_finance", "unfreeze": "unfrozen_by_finance",
                      "change_limit": "limit_changed_by_finance"}


@dataclass(frozen=True)
class CreditLineChange:
    """A change to an open line by the finance team: freeze, unfreeze or a new limit.

    Attributes
    ----------
    firm_id : int
    action : {"freeze", "unfreeze", "change_limit"}
    limit_minor : int
        The line's limit before the change.
    grade : str
        The line's current grade.
    pd : Decimal
    reason : str
        Mandatory, in the finance team's words.
    new_limit_minor : int or None
        For ``change_limit`` only.
    other_debtor_exposure_minor : int or None
        As in :class:`CreditLineApplication`, as of the change.
    """

    firm_id: int
    action: LineAction
    limit_minor: int
    grade: str
    pd: Decimal
    reason: str
    new_limit_minor: int | None = None
    other_debtor_exposure_minor: int | None = None

    def __post_init__(self) -> None:
        _exposure_or_none(self.other_debtor_exposure_minor)
        object.__setattr__(self, "pd", as_probability(self.pd, "pd"))
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise ValueError("a line change needs a reason: `reason` must be a non-empty text.")
        if (self.action == "change_limit") != (self.new_limit_minor is not None):
            raise ValueError("`new_limit_minor` is given with action 'change_limit' and only then.")


def change_credit_line(change: CreditLineChange, policy: Policy) -> CreditLineDecision:
    """Freeze, unfreeze or re-limit a line; the decision's limit is the line's limit afterwards.

    A frozen line keeps its limit (checkout declines it with ``line_frozen``); the outcome is
    always ``approve`` (the change was made). Lowering a limit is always allowed; a raise must
    fit under the debtor concentration cap of the line's grade less the firm's other debtor
    exposure (when that is known).

    Raises
    ------
    ValueError
        If a new limit is outside the policy's [min_limit, max_limit].
    ConcentrationCapExceeded
        If a raised limit is above what the debtor concentration cap leaves.
    """
    formula = policy.credit_line.limit
    limit = change.limit_minor
    if change.action == "change_limit":
        limit = change.new_limit_minor
        if not formula.min_limit_minor <= limit <= formula.max_limit_minor:
            raise ValueError(f"`new_limit_minor` must be between the policy's min_limit_minor "
                             f"({formula.min_limit_minor}) and max_limit_minor ({formula.max_limit_minor}); "
                             f"got {limit}.")
        if limit > change.limit_minor and change.other_debtor_exposure_minor is not None:
            cap, headroom = _concentration_headroom(policy, change.grade, change.other_debtor_exposure_minor)
            if limit > headroom:
                raise ConcentrationCapExceeded(limit, cap, change.other_debtor_exposure_minor)
    detail = change.reason if change.action != "change_limit" else \
        f"{change.limit_minor} -> {limit}: {change.reason}"
    fired = [RuleFired(_LINE_ACTION_CODES[change.action], detail)]
    return CreditLineDecision("approve", change.grade, change.pd, limit, per_order_cap_minor(limit, policy),
                              tuple(fired), ordered_reason_codes(fired), ())
