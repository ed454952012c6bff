"""Helpers for tests that share one PostgreSQL database across tests."""

from __future__ import annotations

from sqlalchemy import Engine, text

from credit.store.tables import Base


def empty_all_tables(engine: Engine) -> None:
    """Remove every row (and reset identities) so the next test starts from an empty store."""
    names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
