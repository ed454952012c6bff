"""Webhook commands: run the dispatcher that delivers the outbox's events to the registered endpoints."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from cli.common import DatabaseUrl, app, console, open_store

webhooks_app = typer.Typer(help="Webhooks: deliver events to the endpoints registered at /v1/webhook-endpoints.",
                           no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")

Timeout = Annotated[float, typer.Option(help="Seconds to wait for an endpoint's answer before the attempt fails.",
                                        min=0.1, max=60)]
Interval = Annotated[float, typer.Option(help="Seconds between passes when there was nothing to do.", min=0.05, max=600)]


@webhooks_app.command("dispatch")
def dispatch_command(
    once: Annotated[bool, typer.Option("--once", help="Run one pass and exit (tests, cron).")] = False,
    timeout: Timeout = 10.0,
    interval: Interval = 1.0,
    database_url: DatabaseUrl = "",
) -> None:
    """Deliver events: fan new ones out to the endpoints, send the due deliveries, retry failures; until SIGTERM or Ctrl-C.

    Each delivery is a signed POST (Standard Webhooks headers). A non-2xx answer or a timeout is
    retried with backoff (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, each drawn between 0 and
    that step); after that and at least a day, the endpoint is disabled. Several dispatchers
    may run at once: each delivery is leased to one. A dispatcher stopped by SIGTERM or Ctrl-C
    finishes the delivery in flight; one killed outright leaves it to be sent again (same
    webhook-id) once its lease runs out (a pass claims up to 10 deliveries; the n-th is leased
    for n timeouts + 5 s).
    """
    import logging

    from credit.webhooks.dispatch import Dispatcher

    engine = open_store(database_url)
    dispatcher = Dispatcher(engine, timeout=timeout)
    try:
        if once:
            result = dispatcher.run_once()
            console.print(f"webhooks: {result.queued} queued, {result.sent} sent, {result.delivered} delivered"
                          + (f", endpoints disabled: {', '.join(map(str, result.disabled))}" if result.disabled else ""),
                          highlight=False)
            return
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        console.print(f"webhooks dispatcher running (timeout {timeout:g} s); SIGTERM or Ctrl-C stops it", highlight=False)
        dispatcher.run(stop, interval=interval)
        console.print("webhooks dispatcher stopped", highlight=False)
    finally:
        dispatcher.close()
        engine.dispose()
