"""Declarative feature definitions: what to aggregate, over which stream, role and windows.

A :class:`Feature` is data: a source stream (:mod:`credit.features.sources`), the role whose
firm the feature belongs to, an :class:`Aggregate` (or a :class:`Ratio` of two) with an
optional SQL filter, and one or more windows. Each window gives one output column,
``<name>_<days>d`` or ``<name>_all`` for all history before the as-of date.

:func:`check_definitions` refuses a definition that names an unknown stream, role or column,
an aggregation that does not exist or does not fit the column, or a window that is not a
positive number of days, with a message naming the definition.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Literal

import duckdb

from credit.features.sources import SOURCES, Source

ALL_HISTORY = "all"
Window = int | Literal["all"]

AGGREGATIONS = {
    "count": "number of events",
    "sum": "sum of the column (0 when there is no event)",
    "mean": "mean of the column",
    "min": "smallest value",
    "max": "largest value",
    "std": "sample standard deviation (n - 1), needs two events",
    "last": "value of the latest event",
    "distinct_count": "number of distinct values",
    "days_since": "days from the latest event to the as-of date",
}
NEEDS_COLUMN = {"sum", "mean", "min", "max", "std", "last", "distinct_count"}
NUMERIC_ONLY = {"sum", "mean", "min", "max", "std", "last"}
INTEGER_TYPES = {"BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT"}


class FeatureDefinitionError(ValueError):
    """A feature definition that cannot be computed; the message names the definition."""


@dataclass(frozen=True)
class Aggregate:
    """One aggregation of a stream's events, optionally filtered.

    Parameters
    ----------
    function
        One of :data:`AGGREGATIONS`.
    column
        Column aggregated; not used by ``count`` and ``days_since``.
    filter
        DuckDB boolean expression over the stream's columns; only matching events count.
    """

    function: str
    column: str | None = None
    filter: str | None = None

    def describe(self) -> str:
        text = self.function + (f"({self.column})" if self.column else "")
        return text + (f" where {self.filter}" if self.filter else "")


@dataclass(frozen=True)
class Ratio:
    """Ratio of two aggregates of the same stream and window; null when the denominator is 0."""

    numerator: Aggregate
    denominator: Aggregate

    def describe(self) -> str:
        return f"{self.numerator.describe()} / {self.denominator.describe()}"


@dataclass(frozen=True)
class Feature:
    """A declarative feature: ``of`` aggregated over ``source`` events of the ``entity``'s firm.

    Parameters
    ----------
    name
        Column name stem; each window appends ``_<days>d`` or ``_all``.
    description
        One line for `credit features list`.
    source
        Name of a stream in :data:`credit.features.sources.SOURCES`.
    entity
        Role of the firm in the stream (``buyer``, ``supplier``, ``debtor``, ``creditor``, ``firm``).
    of
        What to compute.
    windows
        Days before the as-of date (positive integers), or ``"all"`` for all history.
    """

    name: str
    description: str
    source: str
    entity: str
    of: Aggregate | Ratio
    windows: tuple[Window, ...] = field(default=(ALL_HISTORY,))

    def column_names(self) -> list[str]:
        return [column_name(self.name, w) for w in self.windows]

    @property
    def aggregates(self) -> tuple[Aggregate, ...]:
        return (self.of.numerator, self.of.denominator) if isinstance(self.of, Ratio) else (self.of,)


def column_name(stem: str, window: Window) -> str:
    return f"{stem}_all" if window == ALL_HISTORY else f"{stem}_{window}d"


def definitions_version(features: list[Feature]) -> str:
    """A short hash of the definitions, stored in panel manifests."""
    text = json.dumps([asdict(f) | {"of_kind": type(f.of).__name__} for f in features], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_definitions(features: list[Feature]) -> None:
    """Refuse definitions that cannot be computed.

    Raises
    ------
    FeatureDefinitionError
        Naming the first bad definition and what is wrong with it.
    """
    seen: dict[str, str] = {}
    schemas = _stream_schemas()
    for feature in features:
        where = f"feature {feature.name!r}"
        source = SOURCES.get(feature.source)
        if source is None:
            raise FeatureDefinitionError(f"{where}: unknown source {feature.source!r}; "
                                         f"sources are {', '.join(SOURCES)}")
        if feature.entity not in source.entities:
            raise FeatureDefinitionError(f"{where}: source {source.name!r} has no entity {feature.entity!r}; "
                                         f"it has {', '.join(source.entities)}")
        if not feature.windows:
            raise FeatureDefinitionError(f"{where}: no window given")
        for window in feature.windows:
            if window != ALL_HISTORY and (isinstance(window, bool) or not isinstance(window, int) or window <= 0):
                raise FeatureDefinitionError(f"{where}: window must be a positive whole number of days "
                                             f"or 'all'; got {window!r}")
        for aggregate in feature.aggregates:
            _check_aggregate(where, source, schemas[source.name], aggregate)
        for column in feature.column_names():
            if column in seen:
                raise FeatureDefinitionError(f"{where}: column {column!r} is also produced by {seen[column]!r}")
            seen[column] = feature.name


def _check_aggregate(where: str, source: Source, schema: dict[str, str], aggregate: Aggregate) -> None:
    if aggregate.function not in AGGREGATIONS:
        raise FeatureDefinitionError(f"{where}: unknown aggregation {aggregate.function!r}; "
                                     f"aggregations are {', '.join(AGGREGATIONS)}")
    usable = {name: kind for name, kind in schema.items() if name != source.event_time}
    if aggregate.function in NEEDS_COLUMN:
        if aggregate.column is None:
            raise FeatureDefinitionError(f"{where}: {aggregate.function} needs a column")
        if aggregate.column not in usable:
            raise FeatureDefinitionError(f"{where}: source {source.name!r} has no column {aggregate.column!r}; "
                                         f"its columns are {', '.join(usable)}")
        kind = usable[aggregate.column]
        if aggregate.function in NUMERIC_ONLY and kind not in INTEGER_TYPES:
            raise FeatureDefinitionError(f"{where}: {aggregate.function} needs an integer column; "
                                         f"{source.name}.{aggregate.column} is {kind}")
    elif aggregate.column is not None:
        raise FeatureDefinitionError(f"{where}: {aggregate.function} takes no column; got {aggregate.column!r}")
    if aggregate.filter is not None:
        _check_filter(where, source, aggregate.filter)


_SCHEMA_CACHE: dict[str, dict[str, str]] = {}


def _empty_history() -> duckdb.DuckDBPyConnection:
    from credit.features.history import _DUCKDB_TYPES
    from credit.store.frames import HISTORY

    connection = duckdb.connect()
    for spec in HISTORY.values():
        columns = ", ".join(f"{c.name} {_DUCKDB_TYPES[c.kind]}" for c in spec.columns)
        connection.execute(f"CREATE TABLE {spec.name} ({columns})")
    return connection


_EMPTY: list[duckdb.DuckDBPyConnection] = []


def _bind_connection() -> duckdb.DuckDBPyConnection:
    if not _EMPTY:
        from credit.features.history import History
        from credit.features.sources import prepare

        connection = _empty_history()
        prepare(History(connection, "definitions"), datetime(2000, 1, 1))
        _EMPTY.append(connection)
    return _EMPTY[0]


def _stream_schemas() -> dict[str, dict[str, str]]:
    if not _SCHEMA_CACHE:
        connection = _bind_connection()
        for source in SOURCES.values():
            relation = connection.sql(source.select)
            _SCHEMA_CACHE[source.name] = {name: str(kind) for name, kind in zip(relation.columns, relation.types, strict=True)}
    return _SCHEMA_CACHE


def _check_filter(where: str, source: Source, condition: str) -> None:
    """Bind the filter against the stream's columns so a typo fails here, not mid-build."""
    visible = [c for c in _stream_schemas()[source.name] if c != source.event_time]
    try:
        relation = _bind_connection().sql(
            f"SELECT ({condition}) AS keep FROM (SELECT {', '.join(visible)} FROM ({source.select}))")
    except duckdb.Error as exc:
        message = str(exc).splitlines()[0]
        raise FeatureDefinitionError(f"{where}: filter {condition!r} on source {source.name!r}: {message}") from None
    if str(relation.types[0]) != "BOOLEAN":
        raise FeatureDefinitionError(f"{where}: filter {condition!r} on source {source.name!r} is "
                                     f"{relation.types[0]}, not a true/false condition")
