"""Validation rules of each history table, declared as one Great Expectations suite per table.

Every rule has a name (the quarantine's ``rule`` column), the columns it reads and a sentence
that says what it requires. Single-column rules map to GE's built-in expectations; rules
over several columns or tables compare columns of a *validation frame*: the incoming chunk
plus ``<fk>__<column>`` values looked up from the referenced rows already in the store.

Every row is checked against every rule by vectorised masks that give each expectation its
GE meaning (`rule_masks`); running the GE suite itself on millions of rows cost more than
the rest of the load. The suite runs as a cross-check on a sample of a file's first chunk
when that chunk is large or has a flagged row (`TableValidator.failures`), and a
disagreement stops the load.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np
import pandas as pd

from credit import clock
from credit.text import CONTROL_CHARACTERS
from credit.store.frames import HISTORY, TableSpec

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@dataclass(frozen=True)
class Rule:
    """A validation rule of one table.

    Attributes
    ----------
    name
        Short machine name, e.g. ``fk:buyer_id`` or ``due_after_issued``.
    requires
        What a valid row satisfies, in words (printed in reports and the schema doc).
    columns
        Columns of the table the rule reads; their values go into the quarantine detail.
    expectation
        ``(kind, kwargs)`` for a built-in GE expectation, where ``kind`` is the class name
        in ``great_expectations.expectations``.
    holds
        For rules GE cannot express with one expectation: a vectorised predicate over the
        validation frame; validated as ``ExpectColumnValuesToBeInSet([True])``.
    """

    name: str
    requires: str
    columns: tuple[str, ...]
    expectation: tuple[str, dict] | None = None
    holds: Callable[[pd.DataFrame], pd.Series] | None = None

    @property
    def check_column(self) -> str:
        return f"__holds__{self.name}"


@dataclass(frozen=True)
class Lookup:
    """Columns fetched from the row a foreign key references, as ``<fk>__<column>``."""

    foreign_key: str
    parent_table: str
    parent_key: str
    columns: tuple[str, ...]


def _after(a: str, b: str, name: str, requires: str) -> Rule:
    return Rule(name, requires, tuple(c for c in (a, b) if "__" not in c), (
        "ExpectColumnPairValuesAToBeGreaterThanB",
        {"column_A": a, "column_B": b, "or_equal": True, "ignore_row_if": "either_value_is_missing"},
    ))


def _missing_or(frame: pd.DataFrame, column: str, condition: pd.Series) -> pd.Series:
    return frame[column].isna() | condition.fillna(False)


# Table-specific rules over several columns or tables (generic per-column rules are derived
# from the table specs in `table_rules`).
_SPECIFIC: dict[str, list[Rule]] = {
    "firms": [],
    "orders": [
        Rule("buyer_not_supplier", "buyer_id differs from supplier_id", ("buyer_id", "supplier_id"),
             holds=lambda f: (f.buyer_id != f.supplier_id).fillna(True)),
        _after("confirmed_at", "created_at", "confirmed_after_created", "confirmed_at is not before created_at"),
        Rule("shipped_after_confirmed", "shipped_at needs confirmed_at and is not before it",
             ("shipped_at", "confirmed_at"),
             holds=lambda f: _missing_or(f, "shipped_at", f.confirmed_at.notna() & (f.shipped_at >= f.confirmed_at))),
        Rule("delivered_after_shipped", "delivered_at needs shipped_at and is not before it",
             ("delivered_at", "shipped_at"),
             holds=lambda f: _missing_or(f, "delivered_at", f.shipped_at.notna() & (f.delivered_at >= f.shipped_at))),
        Rule("cancelled_before_delivery", "cancelled_at is not before created_at and the order was not delivered",
             ("cancelled_at", "created_at", "delivered_at"),
             holds=lambda f: _missing_or(f, "cancelled_at", f.delivered_at.isna() & (f.cancelled_at >= f.created_at))),
        _after("created_at", "buyer_id__registered_at", "created_after_buyer_registered",
               "created_at is not before the buyer registered on the platform"),
        _after("created_at", "supplier_id__registered_at", "created_after_supplier_registered",
               "created_at is not before the supplier registered on the platform"),
    ],
    "invoices": [
        _after("due_at", "issued_at", "due_after_issued", "due_at is not before issued_at"),
        _after("issued_at", "order_id__created_at", "issued_after_order_created",
               "issued_at is not before the order was created"),
        Rule("parties_match_order", "buyer_id and supplier_id are the invoiced order's buyer and supplier",
             ("buyer_id", "supplier_id", "order_id"),
             holds=lambda f: _missing_or(f, "order_id__buyer_id", (f.buyer_id == f.order_id__buyer_id)
                                         & (f.supplier_id == f.order_id__supplier_id))),
    ],
    "payments": [
        _after("paid_at", "invoice_id__issued_at", "paid_after_invoice_issued",
               "paid_at is not before the invoice was issued"),
    ],
    "returns": [
        _after("returned_at", "order_id__created_at", "returned_after_order_created",
               "returned_at is not before the order was created"),
        _after("order_id__amount_minor", "amount_minor", "amount_within_order",
               "amount_minor is at most the order's amount"),
        Rule("invoice_matches_order", "the credited invoice belongs to the returned order", ("invoice_id", "order_id"),
             holds=lambda f: _missing_or(f, "invoice_id__order_id", f.invoice_id__order_id == f.order_id)),
    ],
    "disputes": [
        _after("opened_at", "order_id__created_at", "opened_after_order_created",
               "opened_at is not before the order was created"),
        Rule("resolution_complete", "resolution and resolved_at are both set or both empty",
             ("resolution", "resolved_at"), holds=lambda f: f.resolution.isna() == f.resolved_at.isna()),
        _after("resolved_at", "opened_at", "resolved_after_opened", "resolved_at is not before opened_at"),
        Rule("invoice_matches_order", "the disputed invoice belongs to the disputed order", ("invoice_id", "order_id"),
             holds=lambda f: _missing_or(f, "invoice_id__order_id", f.invoice_id__order_id == f.order_id)),
    ],
    "credit_events": [
        _after("occurred_at", "firm_id__registered_at", "occurred_after_registration",
               "occurred_at is not before the firm registered on the platform"),
    ],
}

_LOOKUP_COLUMNS: dict[tuple[str, str], tuple[str, ...]] = {
    ("orders", "buyer_id"): ("registered_at",),
    ("orders", "supplier_id"): ("registered_at",),
    ("invoices", "order_id"): ("created_at", "buyer_id", "supplier_id"),
    ("payments", "invoice_id"): ("issued_at",),
    ("returns", "order_id"): ("created_at", "amount_minor"),
    ("returns", "invoice_id"): ("order_id",),
    ("disputes", "order_id"): ("created_at",),
    ("disputes", "invoice_id"): ("order_id",),
    ("credit_events", "firm_id"): ("registered_at",),
}

_TYPE_WORDS = {
    "id": "a whole number", "integer": "a whole number", "money": "a whole number of minor units (no decimals)",
    "timestamp": "an ISO 8601 date or timestamp", "boolean": "true or false",
}

SCHEDULED_TIMES = frozenset({"due_at"})
"""Timestamp columns that name a moment agreed in advance (may lie after now), not an event."""

_POSITIVE_MONEY = {("orders", "amount_minor"), ("invoices", "amount_minor"), ("payments", "amount_minor"),
                   ("returns", "amount_minor")}


def lookups(table: str) -> list[Lookup]:
    """What validating ``table`` needs from the rows its foreign keys reference."""
    spec = HISTORY[table]
    found = []
    for column in spec.columns:
        if column.references:
            parent_table, parent_key = column.references.split(".")
            extra = _LOOKUP_COLUMNS.get((table, column.name), ())
            found.append(Lookup(column.name, parent_table, parent_key, extra))
    return found


@cache
def table_rules(table: str) -> tuple[Rule, ...]:
    """Every rule of ``table``: per-column rules from its spec, then its specific rules."""
    spec: TableSpec = HISTORY[table]
    rules: list[Rule] = []
    for c in spec.columns:
        if c.kind not in ("text", "choice"):  # any text is text; other kinds are parsed
            rules.append(Rule(f"type:{c.name}", f"{c.name} is {_TYPE_WORDS[c.kind]}", (c.name,)))
        if not c.nullable:
            rules.append(Rule(f"not_null:{c.name}", f"{c.name} is present", (c.name,),
                              ("ExpectColumnValuesToNotBeNull", {"column": c.name})))
        if c.name == spec.key:
            rules.append(Rule(f"unique:{c.name}", f"{c.name} appears once in the file", (c.name,),
                              ("ExpectColumnValuesToBeUnique", {"column": c.name})))
        if c.kind == "id":
            rules.append(Rule(f"positive:{c.name}", f"{c.name} is a positive identifier", (c.name,),
                              ("ExpectColumnValuesToBeBetween", {"column": c.name, "min_value": 1})))
        if c.kind == "money":
            positive = (table, c.name) in _POSITIVE_MONEY
            rules.append(Rule(
                f"{'positive' if positive else 'non_negative'}:{c.name}",
                f"{c.name} is {'> 0' if positive else '>= 0'} (integer minor units)", (c.name,),
                ("ExpectColumnValuesToBeBetween", {"column": c.name, "min_value": 1 if positive else 0})))
        if c.allowed:
            rules.append(Rule(f"allowed:{c.name}", f"{c.name} is one of {', '.join(c.allowed)}", (c.name,),
                              ("ExpectColumnValuesToBeInSet", {"column": c.name, "value_set": list(c.allowed)})))
        if c.kind == "text":  # PostgreSQL's text cannot hold NUL; a bell or an escape is a corrupt value
            rules.append(Rule(
                f"no_control:{c.name}", f"{c.name} has no control characters (tab, line feed, carriage return aside)",
                (c.name,), holds=lambda f, column=c.name: ~f[column].str.contains(CONTROL_CHARACTERS.pattern,
                                                                                  regex=True).fillna(False)))
        if c.kind == "text" and c.max_length:
            rules.append(Rule(f"length:{c.name}", f"{c.name} has 1 to {c.max_length} characters", (c.name,),
                              ("ExpectColumnValueLengthsToBeBetween",
                               {"column": c.name, "min_value": 1, "max_value": c.max_length})))
        if c.kind == "timestamp" and c.name not in SCHEDULED_TIMES:
            rules.append(Rule(
                f"not_after_now:{c.name}", f"{c.name} is not after the moment of the load (an event is not known "
                "before it happens)", (c.name,),
                holds=lambda f, column=c.name: f[column].isna() | (f[column] <= pd.Timestamp(clock.now()))))
    for lookup in lookups(table):
        rules.append(Rule(
            f"fk:{lookup.foreign_key}",
            f"{lookup.foreign_key} refers to an existing {lookup.parent_table} row", (lookup.foreign_key,),
            holds=lambda f, fk=lookup.foreign_key: f[fk].isna() | f[f"{fk}__found"].fillna(False),
        ))
    rules.extend(_SPECIFIC[table])
    return tuple(rules)


CONFLICT = Rule("conflicts_with_stored", "the same values as the row already stored under its key", ())
MALFORMED = Rule("malformed_row", "as many fields as the header (CSV)", ())
FILE_RULES = (CONFLICT, MALFORMED)
"""Rules every table has that are checked while loading, not by the GE suite."""


def rule_named(table: str, name: str) -> Rule:
    """The rule called ``name`` of ``table``, including the file rules."""
    return next(rule for rule in (*table_rules(table), *FILE_RULES) if rule.name == name)


@cache
def validator(table: str) -> "TableValidator":
    """The (cached) validator of ``table``; its GE suite is built once per process, when first run."""
    return TableValidator(table)


class TableValidator:
    """Runs a table's rules on validation frames; its Great Expectations suite is the contract.

    The suite is built on its first use (`suite`): importing Great Expectations and building
    the suites costs seconds, and a load of small clean files (a daily delivery) never runs it.
    """

    def __init__(self, table: str) -> None:
        self.table = table
        self.rules = {rule.name: rule for rule in table_rules(table)}

    @cached_property
    def _batch_definition(self):  # noqa: ANN202
        return (_context().data_sources.add_pandas(f"ingest_{self.table}")
                .add_dataframe_asset(self.table).add_batch_definition_whole_dataframe("chunk"))

    @cached_property
    def suite(self):  # noqa: ANN201
        """The table's Great Expectations suite: one expectation per rule (``type:`` rules aside)."""
        import great_expectations as gx  # 2 s import: only when the suite runs
        import great_expectations.expectations as gxe
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = _context()
        suite = gx.ExpectationSuite(name=f"history_{self.table}")
        for rule in self.rules.values():
            if rule.name.startswith("type:"):
                continue  # parse failures are known before validation; see `failures`
            if rule.expectation:
                kind, kwargs = rule.expectation
                expectation = getattr(gxe, kind)(**kwargs, meta={"rule": rule.name})
            else:
                expectation = gxe.ExpectColumnValuesToBeInSet(
                    column=rule.check_column, value_set=[True], meta={"rule": rule.name})
            suite.add_expectation(expectation)
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        return context.suites.add(suite)

    def failures(self, frame: pd.DataFrame, parse_failed: dict[str, np.ndarray],
                 cross_check: bool = False) -> dict[str, np.ndarray]:
        """Row positions breaking each rule (only rules with failures are returned).

        Every rule is evaluated on the whole frame as one boolean mask (`rule_masks`). With
        ``cross_check``, the Great Expectations suite also runs on a sample of the frame (its
        first `GE_SAMPLE_ROWS` rows and every row a mask flagged, up to `GE_SAMPLE_ROWS`
        more), and a rule on which the two disagree is an error: the suite stays the declared
        contract that the masks implement. The suite runs when the frame is a bulk load's
        (at least `GE_BULK_ROWS` rows) or when any mask flagged a row, so every quarantine
        is confirmed by the suite; a small frame every mask passes (a clean daily delivery)
        is judged by the masks alone, saving the suite's fixed cost (see `GE_BULK_ROWS`).

        A value that did not parse is reported once, under ``type:<column>``; the other
        rules of that column do not also report it.
        """
        frame = frame.reset_index(drop=True)
        unexpected = rule_masks(self.table, frame)
        if cross_check and (len(frame) >= GE_BULK_ROWS or any(mask.any() for mask in unexpected.values())):
            self._cross_check(frame, unexpected)
        out: dict[str, np.ndarray] = {}
        for column, mask in parse_failed.items():
            if mask.any():
                out[f"type:{column}"] = np.flatnonzero(mask)
        for name, mask in unexpected.items():
            for column in self.rules[name].columns:
                if column in parse_failed:
                    mask = mask & ~parse_failed[column]
            if mask.any():
                out[name] = np.flatnonzero(mask)
        return out

    def _cross_check(self, frame: pd.DataFrame, unexpected: dict[str, np.ndarray]) -> None:
        flagged = np.flatnonzero(np.logical_or.reduce([*unexpected.values(), np.zeros(len(frame), bool)]))
        sample = np.union1d(np.arange(min(len(frame), GE_SAMPLE_ROWS)), flagged[:GE_SAMPLE_ROWS])
        if not len(sample):
            return
        part = frame.iloc[sample].reset_index(drop=True)
        checks = {
            rule.check_column: rule.holds(part).astype("boolean").fillna(False).astype(bool)
            for rule in self.rules.values() if rule.holds
        }
        part = pd.concat([_numpy_integers(part), pd.DataFrame(checks, index=part.index)], axis=1)
        batch = self._batch_definition.get_batch(batch_parameters={"dataframe": part})
        result = batch.validate(self.suite, result_format="COMPLETE")
        for item in result.results:
            name = item.expectation_config.meta["rule"]
            if item.exception_info and item.exception_info.get("raised_exception"):
                raise RuntimeError(f"rule {self.table}.{name} could not run: {item.exception_info['exception_message']}")
            by_suite = set(np.asarray(item.result.get("unexpected_index_list") or [], dtype=np.int64).tolist())
            by_mask = set(np.flatnonzero(unexpected[name][sample]).tolist())
            # a sampled duplicate whose copy was not sampled is seen by the mask (whole frame) only
            agrees = by_suite <= by_mask if name.startswith("unique:") else by_suite == by_mask
            if not agrees:
                raise RuntimeError(f"rule {self.table}.{name}: the suite and its vectorised form disagree on "
                                   f"sample rows {sorted(by_suite ^ by_mask)[:10]}")


GE_SAMPLE_ROWS = 1_000
"""Rows of a chunk on which the Great Expectations suite itself runs, as a cross-check."""

GE_BULK_ROWS = 100_000
"""A first chunk at least this long is cross-checked with the suite even when every mask
passes. Running the suite costs about 1.5 CPU-s per file whatever the sample's size (GE
builds its metric graph per expectation): nothing beside a bulk load's chunk, most of a
one-day delivery's whole load. A clean small file is judged by the masks alone; that they
implement the suite is shown by every bulk load's cross-check and by
tests/ingest/test_validation_rules.py, where each rule's bad row runs through both."""


def rule_masks(table: str, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per rule of ``table`` checked on frames (not ``type:``): the mask of rows breaking it.

    Each declared GE expectation is evaluated with its GE meaning, vectorised: rows with a
    missing value are not judged by value rules (GE's ``mostly`` semantics), a pair rule
    skips a row where either value is missing, and uniqueness flags every copy of a value.

    Raises
    ------
    ValueError
        A rule declares an expectation option that its vectorised form does not implement.
    """
    out = {}
    for rule in table_rules(table):
        if rule.name.startswith("type:"):
            continue
        if rule.holds:
            out[rule.name] = ~rule.holds(frame).astype("boolean").fillna(False).to_numpy(dtype=bool)
        else:
            kind, kwargs = rule.expectation
            try:
                out[rule.name] = _EXPECTATIONS[kind](frame, **kwargs)
            except UnsupportedExpectationError as exc:
                raise ValueError(f"rule {table}.{rule.name} ({kind} on {', '.join(rule.columns)}): {exc}") from None
    return out


class UnsupportedExpectationError(ValueError):
    """An expectation option the vectorised masks do not implement (a programming error)."""


def _present(series: pd.Series) -> np.ndarray:
    return series.notna().to_numpy(dtype=bool)


def _not_null(frame: pd.DataFrame, column: str) -> np.ndarray:
    return ~_present(frame[column])


def _unique(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = frame[column]
    return (values.duplicated(keep=False) & values.notna()).to_numpy(dtype=bool)


def _between(frame: pd.DataFrame, column: str, min_value: int | None = None, max_value: int | None = None,
             strict_min: bool = False, strict_max: bool = False) -> np.ndarray:
    values = frame[column]
    outside = pd.Series(False, index=values.index)
    if min_value is not None:
        outside |= (values <= min_value if strict_min else values < min_value).fillna(False)
    if max_value is not None:
        outside |= (values >= max_value if strict_max else values > max_value).fillna(False)
    return (outside & values.notna()).to_numpy(dtype=bool)


def _in_set(frame: pd.DataFrame, column: str, value_set: list) -> np.ndarray:
    values = frame[column]
    return (~values.isin(value_set) & values.notna()).to_numpy(dtype=bool)


def _lengths_between(frame: pd.DataFrame, column: str, min_value: int, max_value: int) -> np.ndarray:
    values = frame[column]
    lengths = values.str.len()
    return (((lengths < min_value) | (lengths > max_value)).fillna(False) & values.notna()).to_numpy(dtype=bool)


def _pair_greater(frame: pd.DataFrame, column_A: str, column_B: str, or_equal: bool = False,  # noqa: N803
                  ignore_row_if: str = "both_values_are_missing") -> np.ndarray:
    if ignore_row_if != "either_value_is_missing":
        raise UnsupportedExpectationError(
            f"{column_A} > {column_B} with ignore_row_if={ignore_row_if!r}: only 'either_value_is_missing' "
            "is implemented")
    a, b = frame[column_A], frame[column_B]
    judged = a.notna().to_numpy(dtype=bool) & b.notna().to_numpy(dtype=bool)
    holds = a >= b if or_equal else a > b
    return judged & ~holds.fillna(False).to_numpy(dtype=bool)


_EXPECTATIONS: dict[str, Callable[..., np.ndarray]] = {
    "ExpectColumnValuesToNotBeNull": _not_null,
    "ExpectColumnValuesToBeUnique": _unique,
    "ExpectColumnValuesToBeBetween": _between,
    "ExpectColumnValuesToBeInSet": _in_set,
    "ExpectColumnValueLengthsToBeBetween": _lengths_between,
    "ExpectColumnPairValuesAToBeGreaterThanB": _pair_greater,
}
"""Each GE expectation kind the rules declare, as a vectorised mask of the rows it rejects."""


def _numpy_integers(frame: pd.DataFrame) -> pd.DataFrame:
    """Nullable integer columns without nulls as numpy int64 (exact).

    GE vectorises range checks only for numpy dtypes; on pandas' Int64 it calls a Python
    function per value, 50x slower.
    """
    converted = {
        name: column.to_numpy(dtype=np.int64)
        for name, column in frame.items()
        if isinstance(column.dtype, pd.Int64Dtype) and not column.hasnans
    }
    return frame.assign(**converted) if converted else frame


@cache
def _context():  # noqa: ANN202
    import great_expectations as gx

    return gx.get_context(mode="ephemeral")
