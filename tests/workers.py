"""How ``make test`` shares the suite among pytest-xdist workers (``-n N --dist loadgroup``).

A work unit goes whole to one worker, which runs its tests one after another in collection
order. The unit of a test is

- its ``xdist_group`` mark, if it has one (xdist's own ``loadgroup`` rule);
- else ``live-servers`` if its module is listed in :data:`LIVE_SERVERS`;
- else its module, if listed in :data:`OWN_UNITS`;
- else its directory: a test package's package- and session-scoped fixtures (the CLI's MLflow
  registry, the console's credit book, the simulated marketplaces) are built on one worker,
  not on each, and a module's fixtures once.

Workers take the longest units first (:data:`UNIT_SECONDS`): a long unit handed out last is
run alone while the other workers wait for it. In collection order, ``tests/servicing`` (200 s)
came last and ran alone for minutes; longest first, the two workers end together.

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

# What each long unit took in a CI run (2026-12-07, seconds summed over its tests, the machine under
# load): the order the units are handed out in. A unit not listed counts SECONDS_PER_TEST a test.
UNIT_SECONDS = {
    "live-servers": 543,
    "tests/servicing": 201,
    "tests/cli/test_demo_end_to_end.py": 199,
    "tests/models": 149,
    "tests/cli": 148,
    "tests/monitoring": 120,
    "tests/api/test_openapi_fuzz.py": 115,
    "tests/financing": 77,
    "tests/features": 69,
    "tests/api/financing": 66,
    "tests/pipelines": 62,
    "tests/webhooks": 49,
    "tests/api/sandbox": 46,
    "tests/scoring": 46,
    "tests/api/monitoring": 44,
    "tests/standing": 29,
}
SECONDS_PER_TEST = 0.3


def work_unit(nodeid: str) -> str:
    """The work unit of a test given its node id (without an ``@group`` suffix)."""
    path = nodeid.split("::", 1)[0]
    if path.startswith(LIVE_SERVERS):
        return "live-servers"
    if path in OWN_UNITS:
        return path
    return path.rsplit("/", 1)[0] if "/" in path else path


def longest(workqueue: dict[str, dict[str, bool]]) -> str:
    """The unit of ``workqueue`` (unit -> its tests) expected to take longest; the first of equals."""
    return max(workqueue, key=lambda unit: UNIT_SECONDS.get(unit, SECONDS_PER_TEST * len(workqueue[unit])))


class WorkUnitScheduling(LoadGroupScheduling):
    """``loadgroup`` whose tests without a mark are grouped by :func:`work_unit`, not one by one."""

    def _assign_work_unit(self, node) -> None:  # noqa: ANN001 - xdist's WorkerController
        """Send the longest unit left (:data:`UNIT_SECONDS`), by every index its tests were collected at.

        Every index, not only the first: Schemathesis collects one test per API operation under
        one node id (tests/api/test_openapi_fuzz.py: 53 items, one id); xdist's own version sends
        ``collection.index(nodeid)``, so only the first of them ever ran on a worker.
        """
        assert self.workqueue
        scope = longest(self.workqueue)
        work_unit = self.workqueue.pop(scope)
        self.assigned_work.setdefault(node, {})[scope] = work_unit
        wanted = {nodeid for nodeid, completed in work_unit.items() if not completed}
        node.send_runtest_some([index for index, nodeid in enumerate(self.registered_collections[node])
                                if nodeid in wanted])

    def _split_scope(self, nodeid: str) -> str:
        marked = super()._split_scope(nodeid)
        return marked if marked != nodeid else work_unit(nodeid)
