"""Helpers for tests' stores: one migrated SQLite template per session, and emptying a shared PostgreSQL database."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import Engine, text

from credit.store.engine import make_engine
from credit.store.tables import Base
from migrations import upgrade


def empty_all_tables(engine: Engine) -> None:
    """Remove every row (and reset identities) so the next test starts from an empty store."""
    names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def migrated_template(folder: Path) -> Path:
    """An empty SQLite store at the latest migration, built in ``folder``; copy it, never open it.

    Migrating a new SQLite file runs every revision (~0.3 CPU-s); copying this one and letting
    the app's own ``upgrade`` find it at heads costs a tenth of that.
    """
    template = folder / "migrated.db"
    engine = make_engine(f"sqlite:///{template}")
    upgrade(engine)
    engine.dispose()  # the last connection closed: SQLite checkpoints the WAL into the file and removes it
    assert not Path(f"{template}-wal").exists(), "the template's WAL was not checkpointed"
    return template


def copy_of(template: Path, target: Path) -> str:
    """A private copy of the migrated ``template`` at ``target``; returns its database URL."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"
