"""The ``credit`` command line; each module registers its commands on :data:`app`.

- :mod:`~cli.data`: simulate, ingest, quarantine, schema, db
- :mod:`~cli.features`: features list, features build
- :mod:`~cli.models`: train, evaluate, promote, retrain
- :mod:`~cli.service`: serve, api-key create / list / revoke
- :mod:`~cli.ledger`: ledger reconcile, ledger expire-holds
- :mod:`~cli.decisions`: decisions show, decisions replay
- :mod:`~cli.scoring`: score, models export-champion
- :mod:`~cli.monitoring`: monitor
- :mod:`~cli.demo`: demo
"""

from cli import data, decisions, demo, features, ledger, models, monitoring, scoring, service  # noqa: F401  (registering their commands)
from cli.common import app

__all__ = ["app"]
