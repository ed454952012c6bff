"""The code catalogues: disjoint, complete, and changed only on purpose (golden file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from credit.decisions import codes
from credit.models.reasons import REASON_CATALOGUE

GOLDEN = Path(__file__).with_name("codes_catalogue.golden.md")


def render_catalogues() -> str:
    lines = [f"# Decision code catalogues, version {codes.CODES_CATALOGUE_VERSION}", ""]
    for title, catalogue in (("Policy reasons", codes.POLICY_REASONS), ("Checkout declines", codes.CHECKOUT_DECLINES),
                             ("Next actions", codes.NEXT_ACTIONS)):
        lines += [f"## {title}", "", "| code | text |", "|---|---|"]
        lines += [f"| `{code}` | {text} |" for code, text in catalogue.items()]
        lines.append("")
    lines += ["## Next actions of each checkout decline", ""]
    lines += [f"- `{code}`: " + ", ".join(f"`{a}`" for a in actions)
              for code, actions in codes.CHECKOUT_DECLINE_NEXT_ACTIONS.items()]
    return "\n".join(lines) + "\n"


def test_catalogues_match_the_golden_file():
    # a changed code or text must be deliberate: bump CODES_CATALOGUE_VERSION and rewrite the file
    assert render_catalogues() == GOLDEN.read_text(), (
        f"{GOLDEN.name} is stale: if the change is intended, bump CODES_CATALOGUE_VERSION and write "
        "render_catalogues() to it")


def test_no_code_means_two_things():
    catalogues = [codes.POLICY_REASONS, codes.CHECKOUT_DECLINES, codes.NEXT_ACTIONS, REASON_CATALOGUE]
    seen: set[str] = set()
    for catalogue in catalogues:
        assert not seen & set(catalogue)
        seen |= set(catalogue)


def test_the_checkout_catalogue_has_the_issues_decline_codes_each_with_next_actions():
    assert set(codes.CHECKOUT_DECLINES) >= {"limit_exceeded", "per_order_cap_exceeded", "line_frozen", "in_arrears",
                                            "too_high_risk", "no_line"}
    assert set(codes.CHECKOUT_DECLINE_NEXT_ACTIONS) == set(codes.CHECKOUT_DECLINES)
    for actions in codes.CHECKOUT_DECLINE_NEXT_ACTIONS.values():
        assert actions and set(actions) <= set(codes.NEXT_ACTIONS)


def test_describe_finds_every_catalogue_and_refuses_an_unknown_code():
    assert codes.describe("in_arrears") == "The buyer has invoices past due"
    assert codes.describe("R01") == REASON_CATALOGUE["R01"]
    assert codes.describe("too_new").startswith("Trading")
    with pytest.raises(KeyError, match="nope"):
        codes.describe("nope")


def test_the_catalogue_holds_every_decline_code_the_ledger_raises():
    errors = pytest.importorskip("credit.ledger.errors")  # the ledger lands separately

    ledger_codes = {cls.code for cls in vars(errors).values()
                    if isinstance(cls, type) and issubclass(cls, errors.Decline) and cls is not errors.Decline}
    assert ledger_codes <= set(codes.CHECKOUT_DECLINES)


def test_a_retired_next_action_is_no_decisions_and_reads_as_its_successor():
    from api.decisions.schemas import next_actions_out
    from credit.decisions.outcome import ordered_next_actions

    assert codes.RETIRED_NEXT_ACTIONS == {"apply_for_review": "contact_finance"}
    assert not set(codes.RETIRED_NEXT_ACTIONS) & set(codes.NEXT_ACTIONS)
    assert set(codes.RETIRED_NEXT_ACTIONS.values()) <= set(codes.NEXT_ACTIONS)
    with pytest.raises(ValueError, match="apply_for_review"):
        ordered_next_actions(["apply_for_review"])
    # a decision stored before the retirement: shown with its successor, once
    shown = next_actions_out(("reduce_order_amount", "apply_for_review", "contact_finance"))
    assert [(action.code, action.message) for action in shown] == [
        ("reduce_order_amount", "Reduce the order amount"), ("contact_finance", "Contact the finance team")]
