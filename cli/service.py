"""Service commands: run the HTTP API, and issue or revoke its API keys."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.common import DatabaseUrl, app, console, fail, open_store

keys_app = typer.Typer(help="Issue, rotate, list and revoke the API keys callers use (stored hashed).",
                       no_args_is_help=True)
app.add_typer(keys_app, name="api-key")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=0, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.", min=1)] = 1,
    dispatch: Annotated[bool, typer.Option(
        "--dispatch", help="Also deliver webhooks: run the dispatcher (as `credit webhooks dispatch`) in background "
                           "threads of this process, one for the store and one for the sandbox's, stopped with the "
                           "server.")] = False,
    database_url: DatabaseUrl = "",
) -> None:
    """Run the decision API (FastAPI under uvicorn); OpenAPI at /v1/openapi.json, docs at /v1/docs (also /docs)."""
    import threading

    from api.app import serve as run_server
    from credit.settings import Settings

    settings = Settings(database_url=database_url) if database_url else Settings()
    stop, dispatchers = threading.Event(), []
    if dispatch:
        from credit.webhooks.dispatch import Dispatcher

        # One dispatcher per store: the live one, and the sandbox's, whose test keys register endpoints too.
        for name, url in (("live", settings.resolved_database_url()), ("sandbox", settings.resolved_sandbox_database_url())):
            dispatchers.append(threading.Thread(target=Dispatcher(open_store(url)).run, args=(stop,),
                                                name=f"webhooks-dispatcher-{name}", daemon=True))
            dispatchers[-1].start()
    try:
        run_server(settings, host=host, port=port, workers=workers)
    finally:
        stop.set()
        for dispatcher in dispatchers:
            dispatcher.join(timeout=30)  # the delivery in flight finishes (at most the 10 s timeout)


@keys_app.command("create")
def create_key(
    name: Annotated[str, typer.Argument(help="Who holds the key, e.g. checkout-service or alice@finance.")],
    role: Annotated[str, typer.Argument(
        help="checkout (the marketplace's checkout), payments (its payment system: repayments), finance, analyst "
             "or admin.")],
    client: Annotated[str | None, typer.Option(
        help="The client the key belongs to: its holds, business references and Idempotency-Keys are the "
             "client's, shared by all its keys. Default: NAME.", show_default=False)] = None,
    database_url: DatabaseUrl = "",
) -> None:
    """Issue an API key and print it once; only its SHA-256 is stored."""
    from sqlalchemy.orm import Session

    from api.kit.auth import create_api_key

    with Session(open_store(database_url)) as session:
        try:
            key_id, plaintext = create_api_key(session, name, role, client=client)
        except ValueError as exc:
            fail(str(exc))
        session.commit()
    of_client = f", client {client}" if client else ""
    console.print(f"API key {key_id} for {name} ({role}{of_client}); shown once, keep it secret:",
                  highlight=False, markup=False)
    console.print(plaintext, highlight=False, markup=False, soft_wrap=True)


@keys_app.command("rotate")
def rotate_key(
    key_id: Annotated[int, typer.Argument(help="The key to replace (credit api-key list).")],
    database_url: DatabaseUrl = "",
) -> None:
    """Issue a new key for the same client, name and role, and print it once; the old key stays valid until revoked.

    Both keys act as the client: a request retried under the new key with the same
    Idempotency-Key replays the first response. Revoke the old key (credit api-key revoke)
    once the new one is deployed.
    """
    from sqlalchemy.orm import Session

    from api.kit.auth import rotate_api_key
    from api.kit.errors import Conflict, NotFound

    with Session(open_store(database_url)) as session:
        try:
            old, new_id, plaintext = rotate_api_key(session, key_id)
        except (NotFound, Conflict) as exc:
            fail(exc.message)
        session.commit()
        console.print(f"API key {new_id} replaces key {old.key_id} for {old.name} ({old.role}, client {old.client}); "
                      f"revoke key {old.key_id} once it is deployed. Shown once, keep it secret:",
                      highlight=False, markup=False)
    console.print(plaintext, highlight=False, markup=False, soft_wrap=True)


@keys_app.command("revoke")
def revoke_key(
    key_id: Annotated[int, typer.Argument(help="The key's id (credit api-key list).")],
    database_url: DatabaseUrl = "",
) -> None:
    """Revoke an API key: its next request gets 401."""
    from sqlalchemy.orm import Session

    from api.kit.auth import revoke_api_key
    from api.kit.errors import NotFound

    with Session(open_store(database_url)) as session:
        try:
            key = revoke_api_key(session, key_id)
        except NotFound as exc:
            fail(str(exc))
        session.commit()
        console.print(f"API key {key.key_id} ({key.name}, {key.role}) revoked at {key.revoked_at:%Y-%m-%d %H:%M:%S}",
                      highlight=False)


@keys_app.command("list")
def list_keys(database_url: DatabaseUrl = "") -> None:
    """List the API keys: id, name, client, role, prefix, created and revoked times (never the key)."""
    from sqlalchemy.orm import Session

    from api.kit.auth import list_api_keys

    table = Table()
    for column in ("id", "name", "client", "role", "prefix", "created", "revoked"):
        table.add_column(column)
    with Session(open_store(database_url)) as session:
        for key in list_api_keys(session):
            table.add_row(str(key.key_id), key.name, key.client, key.role, key.prefix,
                          f"{key.created_at:%Y-%m-%d %H:%M}", f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "")
    console.print(table)
