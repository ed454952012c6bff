"""The policy file: the shipped default is valid, every mistake is refused naming its key."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from credit.policy import DEFAULT_POLICY, PolicyError, default_policy, parse_policy

TEXT = DEFAULT_POLICY.read_text()


def _edited(old: str, new: str) -> str:
    assert old in TEXT, f"the default policy no longer contains {old!r}"
    return TEXT.replace(old, new, 1)


def _error(text: str) -> str:
    with pytest.raises(PolicyError) as raised:
        parse_policy(text, source="edited.yaml")
    return str(raised.value)


def test_default_policy_loads_with_a_version_and_a_content_hash():
    policy = default_policy()
    assert policy.version == "2026-12-06.3"
    assert len(policy.content_hash) == 64
    assert policy.grades == ("A", "B", "C", "D", "E", "F", "G", "H")


def test_many_pds_grade_as_one_pd_does():
    policy = default_policy()
    # bounds A 0.0025, B 0.005, C 0.01 ... H 1: a PD equal to a bound belongs to the next grade
    pds = ["0", "0.0024", "0.0025", "0.0099", "0.01", "0.5", "1"]
    assert list(policy.grades_of(np.array([float(p) for p in pds]))) == ["A", "A", "B", "C", "D", "H", "H"]
    assert [policy.grade_of(Decimal(p)) for p in pds] == ["A", "A", "B", "C", "D", "H", "H"]


def test_rates_are_exact_decimals_and_money_is_integer_minor_units():
    policy = default_policy()
    assert policy.credit_line.limit.loss_given_default == Decimal("0.45")
    assert isinstance(policy.order_financing.advance_rates["A"]["C"], Decimal)
    assert isinstance(policy.credit_line.limit.max_limit_minor, int)


@pytest.mark.parametrize("pd, grade", [
    (Decimal("0"), "A"), (Decimal("0.0024999"), "A"), (Decimal("0.0025"), "B"), (Decimal("0.0199"), "D"),
    (Decimal("0.16"), "H"), (Decimal("1"), "H"),
])
def test_a_grade_holds_pds_below_its_bound(pd, grade):
    assert default_policy().grade_of(pd) == grade


def test_comments_and_layout_do_not_change_the_content_hash_but_a_value_does():
    reformatted = parse_policy("# a new comment\n" + TEXT.replace("min_limit_minor: 100_000", "min_limit_minor: 100000"))
    changed = parse_policy(_edited("min_limit_minor: 100_000", "min_limit_minor: 200_000"))
    assert reformatted.content_hash == default_policy().content_hash
    assert changed.content_hash != default_policy().content_hash


def test_a_bare_float_rate_is_refused_naming_the_key():
    message = _error(_edited('loss_given_default: "0.45"', "loss_given_default: 0.45"))
    assert "edited.yaml" in message and "credit_line.limit.loss_given_default" in message


def test_an_unknown_key_is_refused_naming_it():
    assert "credit_line.limit.minimum_limit" in _error(
        _edited("min_limit_minor: 100_000", "min_limit_minor: 100_000\n    minimum_limit: 5"))


def test_a_missing_key_is_refused_naming_it():
    assert "checkout.hold_expiry_days" in _error(_edited("  hold_expiry_days: 14 ", "  # "))


def test_a_rate_above_one_is_refused():
    assert "receivables.base_advance_rate" in _error(_edited('base_advance_rate: "0.90"', 'base_advance_rate: "1.2"'))


def test_money_given_as_a_float_is_refused():
    assert "credit_line.review.refer_above_minor" in _error(
        _edited("refer_above_minor: 25_000_000", "refer_above_minor: 2.5e7"))


def test_a_grade_missing_from_a_grade_table_is_refused():
    assert "receivables.risk_haircuts" in _error(_edited('H: "0.15"}', "}").replace('G: "0.10", }', 'G: "0.10"}'))


def test_a_grade_not_on_the_scale_is_refused():
    assert "credit_line.review.grey_zone_grades" in _error(_edited("grey_zone_grades: [F, G]", "grey_zone_grades: [F, X]"))


def test_a_master_scale_that_does_not_increase_is_refused():
    assert "master_scale" in _error(_edited('C: "0.01"', 'C: "0.001"'))


def test_a_minimum_line_above_the_maximum_is_refused():
    assert "min_limit_minor" in _error(_edited("min_limit_minor: 100_000", "min_limit_minor: 900_000_000"))


def test_a_version_that_is_not_date_and_counter_is_refused():
    assert "version" in _error(_edited('version: "2026-12-06.3"', 'version: "latest"'))


def test_text_that_is_not_a_mapping_is_refused():
    assert "mapping" in _error("- just\n- a list\n")
