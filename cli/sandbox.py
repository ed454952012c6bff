"""Sandbox commands: reset the sandbox's store to its test buyers, issue test keys (docs/sandbox.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import app, console, fail

sandbox_app = typer.Typer(
    help="The sandbox test keys act on: a separate store with documented test buyers and its own clock "
         "(docs/sandbox.md).", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")

SandboxUrl = Annotated[str, typer.Option(
    "--sandbox-database-url", envvar="CREDIT_SANDBOX_DATABASE_URL", show_default=False,
    help="SQLAlchemy URL of the sandbox's store. Default: beside the operational store (CREDIT_DATABASE_URL): "
         "var/credit-sandbox.db, or on PostgreSQL the database <name>_sandbox.")]


def _open(url: str):  # noqa: ANN202
    """The sandbox's engine, migrated and seeded if it never was; exit with a clear error if it cannot be opened."""
    from sqlalchemy.exc import SQLAlchemyError

    from api.kit.sandbox import open_sandbox_store
    from credit.policy import default_policy
    from credit.settings import Settings

    url = url or Settings().resolved_sandbox_database_url()
    try:
        return url, open_sandbox_store(url, default_policy())
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        fail(f"cannot open the sandbox's store at {url}: {reason}")


@sandbox_app.command("reset")
def reset_command(sandbox_database_url: SandboxUrl = "") -> None:
    """Empty the sandbox's store (its test keys stay), seed its test buyers again, its clock back to real time."""
    from credit.policy import default_policy
    from credit.sandbox.buyers import TEST_BUYERS
    from credit.sandbox.seed import reset

    url, engine = _open(sandbox_database_url)
    report = reset(engine, default_policy())
    engine.dispose()
    kept = ", ".join(f"{count} rows of {name}" for name, count in report.kept.items())
    console.print(f"Sandbox at {url} reset: {report.rows_deleted} rows deleted from {report.tables_emptied} tables "
                  f"(kept {kept}).", highlight=False, soft_wrap=True)
    console.print(f"Seeded {report.buyers} test buyers ({', '.join(str(b.firm_id) for b in TEST_BUYERS)}; "
                  f"docs/sandbox.md); the sandbox's clock is at {report.seeded_at:%Y-%m-%d %H:%M:%S} UTC, real time.",
                  highlight=False, soft_wrap=True)


@sandbox_app.command("key")
def key_command(
    role: Annotated[str, typer.Option(
        "--role", help="checkout, payments, finance, analyst or admin, as for live keys.", show_default=False)],
    name: Annotated[str, typer.Option("--name", help="Who holds the key. Default: sandbox-<role>.",
                                      show_default=False)] = "",
    sandbox_database_url: SandboxUrl = "",
) -> None:
    """Issue a test key (mck_test_...) in the sandbox's store and print it once; it acts on the sandbox only."""
    from sqlalchemy.orm import Session

    from api.kit.auth import create_api_key

    url, engine = _open(sandbox_database_url)
    with Session(engine) as session:
        try:
            key_id, plaintext = create_api_key(session, name or f"sandbox-{role}", role, test=True)
        except ValueError as exc:
            fail(str(exc))
        session.commit()
    engine.dispose()
    console.print(f"Test key {key_id} for {name or f'sandbox-{role}'} ({role}) in the sandbox at {url}; shown once:",
                  highlight=False, soft_wrap=True)
    console.print(plaintext, highlight=False, markup=False, soft_wrap=True)
