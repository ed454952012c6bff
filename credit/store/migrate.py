"""Schema migrations of the operational store (Alembic), callable from code and the CLI."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the store's schema to ``revision`` (default: the latest of every branch).

    Each part of the store (history, exposure ledger, decision audit, API access) migrates on
    its own branch from the history tables, so "heads", not "head".
    """
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def new_revision(engine: Engine, message: str) -> None:
    """Autogenerate a migration from the difference between the store and the tables."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
