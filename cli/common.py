"""What every ``credit`` command shares: the Typer apps, the consoles, the shared options and the error exit."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape


app = typer.Typer(
    help="Marketplace credit: supply-chain finance and credit scoring for a B2B marketplace.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Manage the operational store's schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
features_app = typer.Typer(help="Point-in-time firm features: list the definitions, build a panel.",
                           no_args_is_help=True)
app.add_typer(features_app, name="features")
console = Console()
errors = Console(stderr=True)

DatabaseUrl = Annotated[
    str,
    typer.Option(
        "--database-url",
        envvar="CREDIT_DATABASE_URL",
        show_default=False,
        help="SQLAlchemy URL of the store. Default: the SQLite file var/credit.db, the store `credit demo` makes "
        "and `credit serve` uses. PostgreSQL: postgresql+psycopg://user@host:5432/dbname.",
    ),
]

TrackingOption = Annotated[str, typer.Option(
    "--tracking-uri", envvar="CREDIT_TRACKING_URI", show_default=False,
    help="MLflow tracking and registry URI. Default: the SQLite file var/mlflow.db, artifacts under mlruns/.")]

ServingOption = Annotated[Path | None, typer.Option(
    "--serving", help="The champion's serving files (credit models export-champion). Default: the settings' "
    "serving folder, var/serving (CREDIT_SERVING_FOLDER).", show_default=False)]


def fail(message: str, code: int = 2) -> None:
    """Print ``error: message`` on stderr and exit with ``code`` (2: the user asked for something wrong).

    The message is printed as text: a config error naming ``[promotion]`` must show it, not
    read it as rich markup.
    """
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def open_store(database_url: str):  # noqa: ANN202
    """The store's engine, migrated to the latest schema; a clear error if it cannot be opened."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

    from credit.settings import Settings
    from credit.store.engine import make_engine
    from migrations import upgrade

    settings = Settings()
    url = database_url or settings.resolved_database_url()
    try:
        engine = make_engine(url, busy_timeout_seconds=settings.sqlite_busy_timeout_seconds)
        upgrade(engine)
    except OperationalError as exc:
        fail(f"cannot open the store at {url}: {str(exc.orig).strip().splitlines()[0]}")
    except (ArgumentError, NoSuchModuleError) as exc:  # a malformed URL or an unknown driver
        fail(f"cannot use database URL {url!r}: {exc}")
    return engine


def store_is_locked(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite's "database is locked": another process held the write lock past the busy timeout."""
    from sqlalchemy.exc import OperationalError

    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def parse_date(text: str, option: str) -> date:
    """``text`` as a date, or exit naming ``option``."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} must be a date like 2023-01-01; got {text!r}")


def installed_command(command: str) -> str:
    """How to call ``command`` from here: the script beside this Python (``.venv/bin/credit`` after ``make demo``)."""
    import shutil
    import sys

    script = Path(sys.executable).parent / command
    if not script.exists():
        return command
    if shutil.which(command) == str(script):
        return command
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def use_tracking(uri: str) -> None:
    """Point MLflow at ``uri``, or at the settings' store (var/mlflow.db, artifacts in mlruns/).

    MLflow's own progress lines are kept out of the command's output (see :func:`_quiet_mlflow`).
    """
    from credit.models.registry import tracking
    from credit.settings import Settings

    _quiet_mlflow()
    tracking(Settings(tracking_uri=uri) if uri else Settings())


class _MlflowWarnings(logging.Handler):
    """MLflow's warnings and errors, printed as ours: ``warning (MLflow): ...``."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        if _PICKLED_MODEL_WARNING in record.getMessage():
            # the registry logs its PD model as a Python object on purpose; not the user's concern
            return
        errors.print(f"[yellow]{record.levelname.lower()} (MLflow):[/] {escape(record.getMessage())}",
                     highlight=False, soft_wrap=True)


_PICKLED_MODEL_WARNING = "causes it to be serialized using CloudPickle"


def _quiet_mlflow() -> None:
    """Leave out MLflow's INFO lines and its printed progress ("Created version '3' of model ...").

    MLflow logs "INFO mlflow.store.db.utils: Creating initial MLflow database tables" and
    prints registrations on its own stream; the command says what it did in its own words.
    That stream is switched off and MLflow's warnings and errors go through
    :class:`_MlflowWarnings` instead, so a real problem still shows.
    """
    from mlflow.utils.logging_utils import disable_logging

    disable_logging()
    logger = logging.getLogger("mlflow")
    if not any(isinstance(handler, _MlflowWarnings) for handler in logger.handlers):
        logger.addHandler(_MlflowWarnings())
