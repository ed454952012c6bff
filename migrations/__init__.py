"""Schema migrations of the operational store (Alembic), callable from the CLI, the API and tests.

The migrations belong to the application as a whole: they build the library's tables
(:mod:`credit.store`) and the service's own (``api_keys``, ``console_sessions``), so they sit
beside ``credit/``, ``api/`` and ``cli/``, not inside one of them. Importing this package
imports neither the library's tables nor the web layer; ``env.py`` does, when Alembic runs it.

Every part of the store migrates on its own branch from the history tables (``0001``),
labelled by the part (``ledger``, ``audit``, ``api_access``, ``scores``, ``applications``,
``monitoring``, ``console``, ``references``, ``events``, ``sandbox``, ``work_list``): the latest schema is "heads", not "head".
"""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).parent
ROOT_REVISION = "0001"
"""The history tables, the revision every branch starts from."""


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the store's schema to ``revision`` (default: the latest of every branch).

    Parameters
    ----------
    engine
        The store; its ``alembic_version`` table records the head of each branch applied.
    revision
        An Alembic revision target; ``"heads"`` applies every branch.
    """
    config = _config()
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            # A CHECK constraint changes on SQLite only by rebuilding the table, and dropping a
            # table that others reference fails with foreign keys on. SQLite's own recipe: keys
            # off outside the transaction, rebuild, check every key, keys back on.
            # (Straight to the driver: SQLAlchemy's BEGIN would come first and make it a no-op.)
            connection.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                applied = MigrationContext.configure(connection).get_current_heads()
                command.upgrade(config, revision)
                # every row of every table: 5.5 CPU-s on a store of 7.7 M history rows, so only
                # when a revision ran (a store already at ``revision`` is left as it was)
                if sqlite and MigrationContext.configure(connection).get_current_heads() != applied:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"The migration broke foreign keys (table, rowid, parent): {broken[:5]}")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys = ON")


def heads() -> set[str]:
    """The latest revision of every branch: what ``alembic_version`` holds in a store at the latest schema."""
    return set(ScriptDirectory.from_config(_config()).get_heads())


def branches() -> dict[str, str]:
    """Each branch's label and its latest revision, e.g. ``{"audit": "0003_audit", ...}``."""
    script = ScriptDirectory.from_config(_config())
    return {label: revision.revision for revision in script.get_revisions("heads")
            for label in sorted(revision.branch_labels)}


def new_revision(engine: Engine, message: str, *, branch: str, new_branch: bool = False) -> Path:
    """Autogenerate a migration from the difference between the store and the declared tables.

    Parameters
    ----------
    engine
        A store at the latest schema; the migration holds what its tables lack.
    message
        What the migration changes; it names the file.
    branch
        The part of the store the migration belongs to: the label of an existing branch,
        whose latest revision it follows, or with ``new_branch`` the label of a new branch
        started from the history tables (``0001``), as every part of the store has.
    new_branch
        Start ``branch`` rather than extend it.

    Returns
    -------
    Path
        The migration file written under ``versions/``.

    Raises
    ------
    ValueError
        ``branch`` is not an existing branch (or, with ``new_branch``, is one already).
    alembic.util.CommandError
        Alembic refused, e.g. the store is not at the latest schema.
    """
    known = branches()
    if new_branch and not re.fullmatch(r"[a-z][a-z0-9_]*", branch):
        raise ValueError(f"a new branch's label must be lower-case letters, digits and _; got {branch!r}")
    if new_branch and branch in known:
        raise ValueError(f"branch {branch!r} exists already (its head is {known[branch]}); "
                         "extend it without --new-branch")
    if not new_branch and branch not in known:
        raise ValueError(f"no migration branch {branch!r}; the branches are {', '.join(sorted(known))} "
                         "(or start one with --new-branch)")
    config = _config()
    script = ScriptDirectory.from_config(config)
    number = 1 + max(int(match.group()) for revision in script.walk_revisions()
                     if (match := re.match(r"\d+", revision.revision)))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        written = command.revision(
            config, message=message, autogenerate=True, rev_id=f"{number:04d}_{branch}",
            head=ROOT_REVISION if new_branch else f"{branch}@head", splice=new_branch,
            branch_label=branch if new_branch else None)
    return Path(written.path)
