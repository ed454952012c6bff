"""The analyst's month end is one command: ``credit retrain --as-of`` ends with the running service on the new champion.

A small marketplace (200 firms, the 36 months up to this month) is ingested into a SQLite
store; a real uvicorn serves the API on that store and on a serving folder that is empty at
first. ``credit retrain`` runs against the same store, serving folder and a real MLflow store
in tmp, three times, while the service keeps running:

1. as of last month's first day, with a gate that any calibrated model passes: version 1 is
   promoted, exported and scores every firm; the service, started with no model, answers with
   version 1;
2. as of this month's first day, with a gate no model passes: version 2 is refused, and what
   is served (the files, the scores, the service's answers) stays version 1's;
3. as of this month's first day again, with the passing gate: version 3 is promoted while a
   client keeps asking, and the service answers with version 3, without a restart, and never
   fails or goes back to version 1 on the way.
"""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path

import httpx
import mlflow
import pytest
from sqlalchemy import func, select

from api.app import create_app
from credit import clock
from credit.models import REGISTERED_MODEL
from credit.scoring.tables import ScoreSnapshot
from credit.settings import Settings
from credit.simulate import SimulationConfig, simulate
from credit.store.engine import make_engine
from credit.store.tables import CreditEvent
from tests.api.conftest import LiveServer, make_key
from tests.cli.conftest import mlflow_left_as_found
from tests.cli.invoke import Outcome, assert_refused, credit

pytestmark = [
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
    pytest.mark.filterwarnings("ignore:Operation with range is deprecated:DeprecationWarning:mlflow"),
]

CHECK_SECONDS = 0.2
"""How often the test's service looks at the serving folder's version marker."""

# Small windows (a month each) so that 36 months of history are enough (the panel starts a year in,
# when the 365-day windows are complete, and its last 12 months have no outcome yet); the gate's AUC margin
# decides: -1 lets any challenger win on AUC, +1 none. Calibration is left lenient.
WINDOWS = """
[lightgbm]
learning_rate = 0.1
num_threads = 1
min_child_samples = 10
[training]
num_boost_round = 40
early_stopping_rounds = 10
scorecard = false
[windows]
test_months = 1
calibrate_months = 1
valid_months = 1
min_train_months = 1
"""
PASSING = WINDOWS + """[promotion]
min_auc_gain = -1.0
max_brier_increase = 1.0
max_calibration_z = 100.0
min_hosmer_lemeshow_p = 0.0
"""
REFUSING = PASSING.replace("min_auc_gain = -1.0", "min_auc_gain = 1.0")


def _month_start(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@pytest.fixture(scope="module")
def month_end(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The store with 36 months of history up to this month's first day, an empty serving folder, MLflow in tmp.

    Yields the folder, the store's URL and this month's first day, read from the clock when the
    fixture is set up (not when the module is imported: a run that collects before midnight on a
    month's last day and tests after it would otherwise simulate up to the wrong month).
    """
    this_month = _month_start(clock.today(), 0)
    root = tmp_path_factory.mktemp("month-end")
    simulate(SimulationConfig(firms=200, years=3, seed=11, start=_month_start(this_month, -36)), root / "history")
    url = f"sqlite:///{root / 'credit.db'}"
    loaded = credit("ingest", root / "history", "--database-url", url)
    assert loaded.exit_code == 0, loaded.output
    (root / "passing.toml").write_text(PASSING)
    (root / "refusing.toml").write_text(REFUSING)
    with pytest.MonkeyPatch.context() as environment, mlflow_left_as_found():
        environment.setenv("CREDIT_ARTIFACT_LOCATION", (root / "mlruns").as_uri())
        environment.setenv("CREDIT_SERVING_CHECK_SECONDS", str(CHECK_SECONDS))
        yield root, url, this_month


def _retrain(root: Path, url: str, as_of: date, config: str) -> Outcome:
    return credit("retrain", "--as-of", as_of.isoformat(), "--database-url", url, "--serving", root / "serving",
                  "--workdir", root / "retrain", "--config", root / config,
                  "--tracking-uri", f"sqlite:///{root / 'mlflow.db'}")


def _scores(url: str) -> dict[tuple[date, str], int]:
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(select(ScoreSnapshot.as_of, ScoreSnapshot.model_version, func.count())
                                  .group_by(ScoreSnapshot.as_of, ScoreSnapshot.model_version)).all()
    engine.dispose()
    return {(as_of, version): count for as_of, version, count in rows}


def _a_scored_firm(url: str, as_of: date) -> int:
    """A firm scored as of ``as_of`` that never defaulted, so that every later month end scores it too."""
    engine = make_engine(url)
    with engine.connect() as connection:
        firm = connection.execute(select(func.min(ScoreSnapshot.firm_id)).where(
            ScoreSnapshot.as_of == as_of, ScoreSnapshot.firm_id.not_in(select(CreditEvent.firm_id)))).scalar()
    engine.dispose()
    return firm


def _served(client: httpx.Client, firm: int) -> tuple[str, str] | None:
    """The model version and as-of date of the firm's score as the service answers it; None when it has no score."""
    response = client.get(f"/v1/firms/{firm}/credit")
    assert response.status_code == 200, response.text
    score = response.json()["score"]
    return None if score is None else (score["model_version"], score["as_of"])


def _until(client: httpx.Client, firm: int, wanted: tuple[str, str], within: float) -> tuple[str, str] | None:
    """Ask until the service answers ``wanted`` or ``within`` seconds have passed; the last answer."""
    deadline = time.monotonic() + within
    while True:
        answer = _served(client, firm)
        if answer == wanted or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def test_retrain_promotes_exports_rescores_and_the_running_service_serves_the_new_champion(month_end) -> None:  # noqa: ANN001
    root, url, this_month = month_end
    last_month = _month_start(this_month, -1)
    app = create_app(Settings(database_url=url, serving_folder=str(root / "serving"),
                              tracking_uri=f"sqlite:///{root / 'service-mlflow.db'}",
                              serving_check_seconds=CHECK_SECONDS))
    with LiveServer(app) as server:
        client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {make_key(app, 'analyst')}"},
                              timeout=30)
        assert app.state.serving_model is None  # nothing exported yet: the service runs without a model

        # 1. last month's end: the first champion, served by the service that started without one
        first = _retrain(root, url, last_month, "passing.toml")
        assert first.exit_code == 0, first.output
        assert "PROMOTED: version 1 is the champion" in first.text
        assert f"Panel: {root / 'retrain' / 'panel'} (as-of " in first.text and f" to {last_month})" in first.text
        assert f"Exported {REGISTERED_MODEL} version 1 (champion) to {root / 'serving'}." in first.text
        scored = _scores(url)
        assert set(scored) == {(last_month, "1")}, scored
        assert f"Re-scored {scored[(last_month, '1')]:,} firms as of {last_month} with version 1 into firm_scores" \
            in first.text
        assert (f"The running service (serving from {root / 'serving'}) picks up version 1 within {CHECK_SECONDS:g} s; "
                "no restart needed.") in first.text
        firm = _a_scored_firm(url, last_month)
        assert _until(client, firm, ("1", last_month.isoformat()), within=10) == ("1", last_month.isoformat())

        # 2. this month's end, the gate refuses: nothing served changes
        marker = (root / "serving" / "version.json").read_bytes()
        refused = _retrain(root, url, this_month, "refusing.toml")
        assert refused.exit_code == 1, refused.output
        assert "NOT PROMOTED: the champion stays" in refused.text
        assert (f"Nothing served changed: no export, no firm re-scored; the serving files at {root / 'serving'} "
                "hold version 1.") in refused.text
        assert (root / "serving" / "version.json").read_bytes() == marker
        assert set(_scores(url)) == {(last_month, "1")}
        time.sleep(3 * CHECK_SECONDS)  # several looks at the marker later
        assert _served(client, firm) == ("1", last_month.isoformat())
        assert app.state.serving_model.version == "1"

        # 3. this month's end, promoted while a client keeps asking: version 3 is served, no restart
        answers: list[tuple[str, str] | None] = []
        stop = threading.Event()

        def ask() -> None:
            with httpx.Client(base_url=server.url, headers=client.headers, timeout=30) as asking:
                while not stop.is_set():
                    answers.append(_served(asking, firm))

        asking = threading.Thread(target=ask)
        asking.start()
        try:
            promoted = _retrain(root, url, this_month, "passing.toml")
            assert promoted.exit_code == 0, promoted.output
            assert "Challenger: version 3" in promoted.text and "PROMOTED: version 3 is the champion" in promoted.text
            assert f" to {this_month})" in promoted.text  # the panel reaches this month now
            scored = _scores(url)
            assert set(scored) == {(last_month, "1"), (this_month, "3")}, scored
            assert f"Re-scored {scored[(this_month, '3')]:,} firms as of {this_month} with version 3" in promoted.text
            assert f"picks up version 3 within {CHECK_SECONDS:g} s" in promoted.text
            assert _until(client, firm, ("3", this_month.isoformat()), within=10) == ("3", this_month.isoformat())
        finally:
            stop.set()
            asking.join(timeout=30)
        client.close()
    # every answer during the retrain was version 1's or version 3's, and once 3, never 1 again
    versions = [answer[0] for answer in answers]
    assert versions and set(versions) <= {"1", "3"}, set(versions)
    assert versions[-1] == "3" and "1" not in versions[versions.index("3"):]
    assert answers[-1] == ("3", this_month.isoformat())


@pytest.mark.parametrize(("as_of", "phrase"), [
    ("2026/11/30", "--as-of must be a date like 2023-01-01; got '2026/11/30'"),
    ("next month", "--as-of must be a date like 2023-01-01; got 'next month'"),
    ("{next_month}", "--as-of {next_month} is after today ({today}): a month end is retrained for once it has passed"),
], ids=["slashes", "words", "next-month-start"])
def test_retrain_refuses_an_as_of_that_is_not_a_past_date(as_of: str, phrase: str, tmp_path: Path) -> None:
    # today when the test runs, not when it was collected: a run may cross midnight
    today = clock.today()
    dates = {"next_month": _month_start(today, 1).isoformat(), "today": today.isoformat()}
    as_of, phrase = as_of.format(**dates), phrase.format(**dates)
    outcome = credit("retrain", "--as-of", as_of, "--database-url", f"sqlite:///{tmp_path / 'store.db'}",
                     "--serving", tmp_path / "serving", "--workdir", tmp_path / "retrain",
                     "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert_refused(outcome, phrase)
    assert not (tmp_path / "serving").exists() and not (tmp_path / "retrain").exists()


def test_retrain_help_says_what_the_month_end_does() -> None:
    outcome = credit("retrain", "--help")
    assert outcome.exit_code == 0, outcome.output
    for phrase in ("--as-of", "Default: today, by the clock", "serving files are exported to the serving folder",
                   "every firm of the store is scored as of --as-of", "without a restart",
                   "When it does not promote, nothing served changes and the exit code is 1",
                   "the ones `credit serve` uses (CREDIT_DATABASE_URL, CREDIT_SERVING_FOLDER, CREDIT_TRACKING_URI)"):
        assert phrase in outcome.text, outcome.output
