"""The ``credit`` command line; each module registers its commands on :data:`app`.

- :mod:`~cli.data`: simulate, ingest, quarantine, schema, db
- :mod:`~cli.models`: train, evaluate, promote, retrain, models export-champion
- :mod:`~cli.demo`: demo
- :mod:`~cli.scoring`: score
- :mod:`~cli.monitoring`: monitor, monitor book, monitor financing
- :mod:`~cli.service`: serve, api-key create / list / revoke
- :mod:`~cli.features`: features list, features build
- :mod:`~cli.decisions`: decisions show, decisions replay
- :mod:`~cli.ledger`: ledger reconcile, ledger expire-holds
- :mod:`~cli.servicing`: servicing run
- :mod:`~cli.financing`: financing run (order advances, financed invoices, loans and their offers)
- :mod:`~cli.webhooks`: webhooks dispatch

They share options and plumbing (:mod:`~cli.common`) and what they print (:mod:`~cli.output`),
never each other; the demo's replayed credit book is :mod:`~cli.demo_book`.
"""

# Imported in the order `credit --help` lists the commands.
from cli import data, models, demo, scoring, monitoring, service, features, decisions, ledger, servicing, financing, webhooks  # noqa: F401,I001  (registering their commands)
from cli.common import app

__all__ = ["app"]
