"""The ``credit`` command line; each module registers its commands on :data:`app`.

- :mod:`~credit.cli.data`: simulate, ingest, quarantine, schema, db
- :mod:`~credit.cli.features`: features list, features build
- :mod:`~credit.cli.models`: train, evaluate, promote, retrain
- :mod:`~credit.cli.service`: serve, api-key create / list / revoke
- :mod:`~credit.cli.ledger`: ledger reconcile, ledger expire-holds
- :mod:`~credit.cli.decisions`: decisions show, decisions replay
- :mod:`~credit.cli.scoring`: score, models export-champion
- :mod:`~credit.cli.monitoring`: monitor
- :mod:`~credit.cli.demo`: demo
"""

from credit.cli import data, decisions, demo, features, ledger, models, monitoring, scoring, service  # noqa: F401  (registering their commands)
from credit.cli.common import app

__all__ = ["app"]
