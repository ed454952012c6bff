"""How ``make test`` shares the suite among pytest-xdist workers (``-n N --dist loadgroup``).

A work unit goes whole to one worker, which runs its tests one after another in collection
order. The unit of a test is

- its ``xdist_group`` mark, if it has one (xdist's own ``loadgroup`` rule);
- else ``live-servers`` if its module is listed in :data:`LIVE_SERVERS`;
- else its module, if listed in :data:`OWN_UNITS`;
- else its directory: a test package's package- and session-scoped fixtures (the CLI's MLflow
  registry, the console's credit book, the simulated marketplaces) are built on one worker,
  not on each, and a module's fixtures once.

Each worker is a test session of its own: it has its own ``tmp_path_factory`` folder, its own
PostgreSQL database (``postgres_url``) and builds its own copy of a session fixture that two
directories share.

The scheduler runs in the controller, which never collects: it sees node ids only, so the
units are told by path, not by fixture.
"""

from __future__ import annotations

from xdist.scheduler import LoadGroupScheduling

# Tests that start uvicorn or drive Debian's chromium, or race 32 threads for one line's lock,
# run one after another on one worker: a SIGKILLed server restarts on a port it had probed free,
# and two stress tests at once on two cores would only measure each other.
LIVE_SERVERS = (
    "tests/api/console/",  # test_browser.py: chromium against a live server, beside its credit book
    "tests/api/test_idempotency.py",
    "tests/api/test_docs_browser.py",  # chromium against a live server, the network off
    "tests/api/checkout/test_business_references.py",
    "tests/api/checkout/test_checkout_concurrency.py",
    "tests/api/checkout/test_checkout_crash.py",
    "tests/api/financing/test_receivables.py",
    "tests/ledger/test_concurrency.py",
    "tests/servicing/test_run_concurrency.py",
    "tests/servicing/test_servicing_concurrency.py",
    "tests/api/financing/test_concentration.py",
    "tests/api/loans/test_loan_concurrency.py",
    "tests/webhooks/test_dispatch_crash.py",  # dispatcher subprocesses SIGKILLed mid-delivery, two at once
    "tests/sandbox/test_clock_concurrency.py",
    "tests/api/credit_lines/test_application_concurrency.py",
    "tests/cli/test_month_end.py",  # credit retrain against a live server, asked all along
)

# Modules long enough to be a unit of their own, so their directory's other tests go to the other worker.
OWN_UNITS = (
    "tests/cli/test_demo_end_to_end.py",  # the whole demo on a smaller marketplace, then chromium on its console
    "tests/api/test_openapi_fuzz.py",  # Schemathesis, every check, every role, on SQLite and PostgreSQL: minutes
)


def work_unit(nodeid: str) -> str:
    """The work unit of a test given its node id (without an ``@group`` suffix)."""
    path = nodeid.split("::", 1)[0]
    if path.startswith(LIVE_SERVERS):
        return "live-servers"
    if path in OWN_UNITS:
        return path
    return path.rsplit("/", 1)[0] if "/" in path else path


class WorkUnitScheduling(LoadGroupScheduling):
    """``loadgroup`` whose tests without a mark are grouped by :func:`work_unit`, not one by one."""

    def _assign_work_unit(self, node) -> None:  # noqa: ANN001 - xdist's WorkerController
        """Send a unit's tests by every index they were collected at, not only the first.

        Schemathesis collects one test per API operation under one node id
        (tests/api/test_openapi_fuzz.py: 53 items, one id); xdist's own version sends
        ``collection.index(nodeid)``, so only the first of them ever ran on a worker.
        """
        assert self.workqueue
        scope, work_unit = self.workqueue.popitem(last=False)
        self.assigned_work.setdefault(node, {})[scope] = work_unit
        wanted = {nodeid for nodeid, completed in work_unit.items() if not completed}
        node.send_runtest_some([index for index, nodeid in enumerate(self.registered_collections[node])
                                if nodeid in wanted])

    def _split_scope(self, nodeid: str) -> str:
        marked = super()._split_scope(nodeid)
        return marked if marked != nodeid else work_unit(nodeid)
