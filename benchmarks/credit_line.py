"""A credit-line decision over HTTP against MLflow's own model server scoring the same champion, per request.

SPEC 7: "Credit-line decision (features + score + policy + audit): at least 3x faster per
request than MLflow's own model server scoring the same model."

Setup, in a temporary folder: simulate and ingest a marketplace whose history ends this month
(as tests/api/marketplace.py places it, since the routes use the real clock), train the
LightGBM PD model on its panel, log it to a private MLflow store (SQLite) as ``credit_pd``
versions 1 and 2 (the same fitted model logged twice), alias version 2 ``champion`` and export
the serving files of both, then score every firm as of the first of this month in two copies
of the store:

- store A: the batch snapshot was written by the champion (version 2): the usual path, the
  request reads the stored PD and reason codes;
- store B: the snapshot was written by version 1 (the champion changed after the batch), so
  every request also scores the stored features with the champion itself
  (:func:`credit.scoring.score_features`).

Servers, started side by side on 127.0.0.1, one worker each:

- ours A and ours B: ``uvicorn api.app:create_app --factory`` (uvloop + httptools, no access
  log) on stores A and B, serving version 2's exported files;
- MLflow: ``mlflow models serve -m models:/credit_pd@champion --env-manager local -w 1``.

Closed loop, one request at a time: for each applicant (a distinct scored firm, which applies
once per store: a firm with a line or a pending application is refused with 409), one
``POST /v1/credit-lines/applications`` to ours A, one to ours B and one single-row
``POST /invocations`` to MLflow with that firm's stored model inputs, in rotating order. Each
latency is the client's wall time from sending the request to the last byte of the answer
over a kept-alive connection (stdlib http.client). Warm-up first with other firms.

    .venv/bin/python benchmarks/credit_line.py [--firms 3000] [--applicants 2500] [--warmup 150]
        [--wait-load 300] [--folder DIR] [--profile]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.checkout import cpu_seconds, free_port, percentile, start_server  # noqa: E402
from credit.models import REGISTERED_MODEL  # noqa: E402

LABEL = "default_12m"


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def wait_for_quiet(limit_seconds: float, below: float = 1.5) -> None:
    """Wait (at most ``limit_seconds``) for the 1-minute load average to fall below ``below``."""
    started = time.monotonic()
    while float(loadavg().split()[0]) >= below and time.monotonic() - started < limit_seconds:
        time.sleep(5)
    print(f"load average before the measured loop: {loadavg()} (waited {time.monotonic() - started:.0f} s "
          f"for the 1-minute figure to fall below {below})")


def build(folder: Path, firms: int, seed: int) -> dict:
    """Simulate, ingest, train, register in MLflow, export, batch-score two stores, issue keys."""
    import mlflow
    import pandas as pd
    from sqlalchemy.orm import Session

    from api.kit.auth import create_api_key
    from credit.features.asof import monthly
    from credit.features.history import History
    from credit.features.panel import build_panel
    from credit.ingest import find_history_files, ingest_files
    from credit.models.pd_model import LightGBMPD
    from credit.models.registry import export_serving_files, log_pd_model, set_alias, tracking
    from credit.scoring.batch import score_all
    from credit.settings import Settings
    from credit.simulate import SimulationConfig, simulate
    from credit.store.engine import make_engine
    from migrations import upgrade
    from tests.api.marketplace import AS_OF, START, _explained, months_after

    timings = {}
    started = time.perf_counter()
    history = folder / "history"
    simulate(SimulationConfig(firms=firms, years=2, seed=seed, start=START), history)
    timings["simulate"] = time.perf_counter() - started

    t = time.perf_counter()
    store_a, store_b = folder / "store_a.db", folder / "store_b.db"
    engine = make_engine(f"sqlite:///{store_a}")
    upgrade(engine)
    files, _ = find_history_files([history])
    results = ingest_files(engine, files)
    assert all(r.error is None and r.quarantined == 0 for r in results), results
    engine.dispose()
    shutil.copyfile(store_a, store_b)
    timings["ingest"] = time.perf_counter() - t

    t = time.perf_counter()
    panel = build_panel(History.from_parquet(history), monthly(months_after(START, 2), months_after(START, 12))).frame
    features = _explained([c for c in panel.columns if c not in ("firm_id", "as_of", LABEL)])
    labelled = panel[panel[LABEL].notna()]
    day = labelled["as_of"].dt.date
    train = labelled[day < months_after(START, 9)]
    valid = labelled[(day >= months_after(START, 9)) & (day < months_after(START, 10))]
    calibrate = labelled[day >= months_after(START, 10)]
    params = {"learning_rate": 0.1, "num_threads": 1, "min_child_samples": 10}
    model = LightGBMPD(params=params, num_boost_round=60, early_stopping_rounds=60, calibration="sigmoid",
                       random_state=1).fit(
        train[features], train[LABEL], X_valid=valid[features], y_valid=valid[LABEL],
        X_calibrate=calibrate[features], y_calibrate=calibrate[LABEL])
    timings["train"] = time.perf_counter() - t

    t = time.perf_counter()
    tracking_uri = f"sqlite:///{folder / 'mlflow.db'}"
    tracking(Settings(tracking_uri=tracking_uri, artifact_location=str(folder / "mlartifacts")))
    versions = [log_pd_model(model, params=params, metrics={}, feature_names=features,
                             input_example=train[features].head(5), run_name=f"bench-{n}") for n in (1, 2)]
    serving = {}
    for registered in versions:  # export each under the champion alias, the champion (version 2) last
        set_alias(REGISTERED_MODEL, "champion", registered.version)
        serving[registered.version] = export_serving_files(
            REGISTERED_MODEL, "champion", folder / f"serving_v{registered.version}")
    old, champion = versions[0].version, versions[1].version
    timings["register"] = time.perf_counter() - t

    t = time.perf_counter()
    keys, runs = {}, {}
    for name, store, version in (("A", store_a, champion), ("B", store_b, old)):
        engine = make_engine(f"sqlite:///{store}")
        runs[name] = score_all(engine, serving[version], AS_OF)
        with Session(engine) as session:
            _, keys[name] = create_api_key(session, f"credit-line-bench-{name}", "checkout")
            session.commit()
        engine.dispose()
    timings["score"] = time.perf_counter() - t
    mlflow.set_tracking_uri("")  # this process is done with the registry
    return {"tracking_uri": tracking_uri, "serving": str(serving[champion]), "champion": champion, "old": old,
            "stores": {"A": store_a, "B": store_b}, "keys": keys, "runs": runs, "timings": timings,
            "features": features, "as_of": AS_OF, "train_rows": len(train), "panel_rows": len(panel),
            "categorical": sorted(c for c in features if isinstance(panel[c].dtype, pd.CategoricalDtype))}


def applicants(store: Path) -> list[tuple[int, float, dict]]:
    """Every firm with a snapshot row and no line: (firm_id, stored pd, stored features), by firm id."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from credit.ledger.journal import LINES
    from credit.scoring.online import latest_score
    from credit.scoring.tables import ScoreSnapshot
    from credit.store.engine import make_engine

    engine = make_engine(f"sqlite:///{store}")
    with Session(engine) as session:
        with_lines = set(session.scalars(select(LINES.c.firm_id)))
        firm_ids = sorted(set(session.scalars(select(ScoreSnapshot.firm_id))) - with_lines)
        found = []
        for firm_id in firm_ids:
            score = latest_score(session, firm_id)
            found.append((firm_id, score.pd, score.features))
    engine.dispose()
    return found


def start_mlflow(tracking_uri: str, port: int, log: Path) -> subprocess.Popen:
    bin_folder = str(Path(sys.executable).parent)  # as in an activated venv: it runs `uvicorn` from PATH
    env = os.environ | {"MLFLOW_TRACKING_URI": tracking_uri, "MLFLOW_REGISTRY_URI": tracking_uri,
                        "PATH": bin_folder + os.pathsep + os.environ.get("PATH", ""),
                        "PYTHONPATH": str(ROOT)}  # the model's pyfunc class from this checkout
    server = subprocess.Popen(
        [str(Path(bin_folder) / "mlflow"), "models", "serve", "-m", f"models:/{REGISTERED_MODEL}@champion",
         "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1"],
        env=env, cwd=log.parent, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"mlflow models serve exited with {server.returncode}; see {log}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/ping")
            if connection.getresponse().status == 200:
                connection.close()
                return server
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"mlflow models serve did not answer /ping; see {log}")


def descendants(pid: int) -> list[int]:
    """``pid`` and every process under it (mlflow's CLI runs the server in a child)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").iterdir():
            children = (task / "children").read_text().split()
            queue.extend(int(child) for child in children)
    return found


def tree_cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:
            pass
    return total


class Client:
    """One kept-alive HTTP/1.1 connection; ``post`` returns (status, body, seconds on the wall)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, float]:
        started = time.perf_counter()
        try:
            self.connection.request("POST", path, body, headers)
            response = self.connection.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # the server closed the kept-alive connection (keep-alive timeout): reconnect, resend
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            started = time.perf_counter()
            self.connection.request("POST", path, body, headers)
            response = self.connection.getresponse()
        data = response.read()
        return response.status, data, time.perf_counter() - started


def profile_ours(store: Path, serving: str, key: str, firms: list[int], top: int) -> None:
    """Serve the app in this process (uvicorn, as above) and cProfile each application inside the ASGI app.

    The client runs in another thread (not profiled). The loop's thread is profiled from the ASGI
    call to the last body chunk handed to uvicorn; the dependencies and the route run in
    FastAPI's thread pool (:mod:`api.kit.db`), so each call handed to a worker thread gets a
    profile of its own, merged with the loop's at the end (cProfile follows one thread). The
    client sends one request at a time. The first 20 firms warm up.
    """
    import cProfile
    import io
    import pstats
    import threading

    import anyio.to_thread
    import uvicorn

    from api.app import create_app
    from credit.settings import Settings

    app = create_app(Settings(database_url=f"sqlite:///{store}", serving_folder=serving))
    profiler = cProfile.Profile()
    worker_profiles: list[cProfile.Profile] = []
    state = {"on": False, "app_seconds": []}
    run_sync = anyio.to_thread.run_sync  # what Starlette and FastAPI call to use a worker thread

    async def run_sync_profiled(func, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        def call(*arguments):  # noqa: ANN002, ANN202
            if not state["on"]:
                return func(*arguments)
            worker = cProfile.Profile()
            worker_profiles.append(worker)
            worker.enable()
            try:
                return func(*arguments)
            finally:
                worker.disable()
        return await run_sync(call, *args, **kwargs)

    anyio.to_thread.run_sync = run_sync_profiled

    async def profiled(scope, receive, send):  # noqa: ANN001, ANN202
        if scope["type"] != "http" or not state["on"]:
            return await app(scope, receive, send)
        started = time.perf_counter()
        profiler.enable()
        try:
            return await app(scope, receive, send)
        finally:
            profiler.disable()
            state["app_seconds"].append(time.perf_counter() - started)

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(profiled, host="127.0.0.1", port=port, loop="uvloop", http="httptools",
                                           access_log=False, log_level="warning"))
    wall: list[float] = []

    def drive() -> None:
        while not server.started:
            time.sleep(0.02)
        client = Client(port)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        for i, firm_id in enumerate(firms):
            state["on"] = i >= 20
            status, data, seconds = client.post("/v1/credit-lines/applications",
                                                json.dumps({"buyer_id": firm_id}).encode(),
                                                headers | {"Idempotency-Key": f"profile-{firm_id}"})
            assert status == 201, (status, data)
            if i >= 20:
                wall.append(seconds)
        server.should_exit = True

    thread = threading.Thread(target=drive, daemon=True)
    thread.start()
    server.run()
    thread.join()
    n = len(wall)
    app_ms = [s * 1000 for s in state["app_seconds"]]
    print(f"profile of ours A in-process ({n} more applicants, cProfile on): client wall p50 "
          f"{percentile([w * 1000 for w in wall], .5):.2f} ms, inside the ASGI app p50 {percentile(app_ms, .5):.2f} ms "
          "(cProfile inflates both)")
    anyio.to_thread.run_sync = run_sync
    stats = pstats.Stats(profiler, *worker_profiles, stream=io.StringIO())
    mean_app = sum(app_ms) / n
    print(f"  cumulative ms per request (cProfile; mean time inside the app {mean_app:.2f} ms), the most expensive "
          "functions of api/ and credit/ and the SQLAlchemy / FastAPI entry points they go through:")
    library = {("sqlalchemy/orm/session.py", "commit"), ("sqlalchemy/orm/session.py", "flush"),
               ("sqlalchemy/orm/session.py", "execute"), ("sqlalchemy/engine/base.py", "_execute_context"),
               ("fastapi/dependencies/utils.py", "solve_dependencies"),
               ("fastapi/routing.py", "serialize_response"), ("fastapi/routing.py", "run_endpoint_function")}
    rows = []
    for (filename, line, function), (_, _calls, _tt, cumulative, _) in stats.stats.items():
        where = filename.replace(str(ROOT) + "/", "")
        if "site-packages/" in where:
            where = where.split("site-packages/", 1)[1]
        if where.startswith(("api/", "credit/")) or (where, function) in library:
            rows.append((cumulative, f"{where}:{line} {function}"))
    for cumulative, name in sorted(rows, reverse=True)[:top]:
        print(f"  {cumulative / n * 1000:7.3f} ms  {name}")


def code_state() -> str:
    def git(*arguments: str) -> str:
        return subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, text=True).stdout.rstrip()

    head = git("rev-parse", "--short", "HEAD").strip()
    if not head:
        return "code not in a git checkout"
    changed = [line[3:] for line in git("status", "--short", "--untracked-files=no").splitlines()]
    return f"commit {head}" + (
        f" with uncommitted changes in {', '.join(changed)}" if changed else "")


def summary(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (f"{name:<34} p50 {percentile(ms, .5):6.2f}  p90 {percentile(ms, .9):6.2f}  p99 {percentile(ms, .99):6.2f}"
            f"  mean {sum(ms) / len(ms):6.2f}  max {max(ms):7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=3000, help="simulated firms (each scored one applies once)")
    parser.add_argument("--applicants", type=int, default=2000, help="measured applicants (at most the scored firms "
                                                                     "left after the warm-up)")
    parser.add_argument("--warmup", type=int, default=150, help="warm-up applicants (other firms)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--wait-load", type=float, default=300,
                        help="seconds to wait at most for a 1-minute load average below 1.5 before measuring")
    parser.add_argument("--folder", type=Path, default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="afterwards, cProfile N more applications to ours A in-process and print the top calls")
    args = parser.parse_args()

    folder = args.folder or Path(tempfile.mkdtemp(prefix="credit_line_bench_"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"credit-line decision vs MLflow model server, Python {platform.python_version()}, {os.cpu_count()} cores, "
          f"load average {loadavg()} at start; {code_state()}; work folder {folder}")
    built = build(folder, args.firms, args.seed)
    runs, timings = built["runs"], built["timings"]
    print(f"setup: {args.firms:,} simulated firms x 2 years ending this month (seed {args.seed}); PD model "
          f"(LightGBM, {len(built['features'])} features, {len(built['categorical'])} categorical, sigmoid-calibrated) "
          f"trained on {built['train_rows']:,} rows, logged as {REGISTERED_MODEL} versions {built['old']} and "
          f"{built['champion']} (same fitted model), champion = version {built['champion']}")
    print(f"  batch snapshot as of {built['as_of']}: store A {runs['A'].rows:,} firms by version "
          f"{runs['A'].model_version}, store B {runs['B'].rows:,} firms by version {runs['B'].model_version}; "
          + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))

    pool = applicants(built["stores"]["A"])
    pool_b = {firm_id for firm_id, _, _ in applicants(built["stores"]["B"])}
    pool = [entry for entry in pool if entry[0] in pool_b]
    warm, measured = pool[:args.warmup], pool[args.warmup:args.warmup + args.applicants]
    spare = [firm_id for firm_id, _, _ in pool[args.warmup + args.applicants:]]
    if len(measured) < args.applicants:
        print(f"  only {len(measured):,} scored firms left after the warm-up (asked for {args.applicants:,})")

    from credit.models.serving import ServingModel
    model = ServingModel.load(built["serving"])
    columns = model.features

    os.environ["CREDIT_SERVING_FOLDER"] = built["serving"]
    ports = {"A": free_port(), "B": free_port(), "mlflow": free_port()}
    servers = {}
    try:
        servers["A"] = start_server(f"sqlite:///{built['stores']['A']}", ports["A"])
        servers["B"] = start_server(f"sqlite:///{built['stores']['B']}", ports["B"])
        servers["mlflow"] = start_mlflow(built["tracking_uri"], ports["mlflow"], folder / "mlflow_serve.log")
        pids = {name: descendants(server.pid) for name, server in servers.items()}
        clients = {name: Client(port) for name, port in ports.items()}
        headers = {name: {"Authorization": f"Bearer {built['keys'][name]}", "Content-Type": "application/json"}
                   for name in ("A", "B")}
        mlflow_headers = {"Content-Type": "application/json"}

        def ours(name: str, firm_id: int, tag: str) -> tuple[int, dict, float]:
            body = json.dumps({"buyer_id": firm_id}).encode()
            status, data, seconds = clients[name].post(
                "/v1/credit-lines/applications", body, headers[name] | {"Idempotency-Key": f"{tag}-{firm_id}"})
            return status, json.loads(data), seconds

        def theirs(features: dict) -> tuple[int, dict, float]:
            body = json.dumps({"dataframe_split": {"columns": columns,
                                                   "data": [[features.get(c) for c in columns]]}}).encode()
            status, data, seconds = clients["mlflow"].post("/invocations", body, mlflow_headers)
            return status, json.loads(data), seconds

        for firm_id, _, features in warm:
            for name in ("A", "B"):
                status, answer, _ = ours(name, firm_id, "warm")
                assert status == 201, (name, status, answer)
            status, answer, _ = theirs(features)
            assert status == 200, (status, answer)

        wait_for_quiet(args.wait_load)
        latencies = {"A": [], "B": [], "mlflow": []}
        outcomes = {"A": {}, "B": {}}
        worst_gap = {"A": 0.0, "B": 0.0, "mlflow": 0.0}
        cpu0 = {name: tree_cpu(p) for name, p in pids.items()}
        client_cpu0 = time.process_time()
        started = time.perf_counter()
        order = ("A", "B", "mlflow")
        for i, (firm_id, stored_pd, features) in enumerate(measured):
            for name in order[i % 3:] + order[:i % 3]:  # rotate who goes first
                if name == "mlflow":
                    status, answer, seconds = theirs(features)
                    assert status == 200, (status, answer)
                    pd_ = float(answer["predictions"][0])
                else:
                    status, answer, seconds = ours(name, firm_id, "apply")
                    assert status == 201, (name, status, answer)
                    assert answer["model_version"] == built["champion"]
                    outcomes[name][answer["outcome"]] = outcomes[name].get(answer["outcome"], 0) + 1
                    pd_ = float(answer["pd"])
                latencies[name].append(seconds)
                worst_gap[name] = max(worst_gap[name], abs(pd_ - stored_pd))
        elapsed = time.perf_counter() - started
        client_cpu = time.process_time() - client_cpu0
        cpu = {name: tree_cpu(p) - cpu0[name] for name, p in pids.items()}
        load_after = loadavg()
    finally:
        for name, server in servers.items():
            if name == "mlflow":
                try:
                    os.killpg(server.pid, signal.SIGTERM)  # its own session: the CLI and its uvicorn child
                except ProcessLookupError:
                    pass
            else:
                server.send_signal(signal.SIGINT)
        for server in servers.values():
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()

    n = len(measured)
    print(f"closed loop, one request at a time, interleaved firm by firm in rotating order: {n:,} applicants "
          f"x 3 requests in {elapsed:.1f} s (after {len(warm)} warm-up applicants); client: http.client, "
          f"kept-alive connections, same machine, {client_cpu / (3 * n) * 1e6:.0f} us CPU/request")
    print("what one request does:")
    print("  ours A: POST /v1/credit-lines/applications on uvicorn api.app:create_app (1 worker, uvloop + "
          "httptools): API-key auth + Idempotency-Key claim + firm, line and pending-application checks + "
          "snapshot read (PD and reasons stored by the champion) + live facts (days past due now, past "
          "defaults, tenure, verification) + policy (knock-outs, grade, limit) + audited decision record + "
          "application row + line opened when approved, one SQLite transaction")
    print("  ours B: the same, but the snapshot was written by version "
          f"{built['old']}, so the request also scores the stored features with the champion (PD + reason codes)")
    print(f"  MLflow: POST /invocations on `mlflow models serve -m models:/{REGISTERED_MODEL}@champion --env-manager local "
          f"-w 1` (MLflow {mlflow_version()}): one row of {len(columns)} features (dataframe_split), PD only")
    print("latency per request, ms (client wall time):")
    print(summary("ours A (snapshot by the champion)", latencies["A"]))
    print(summary("ours B (scored in the request)", latencies["B"]))
    print(summary("MLflow model server (one row)", latencies["mlflow"]))
    print("server CPU per request: " + ", ".join(
        f"{label} {cpu[name] / n * 1e6:,.0f} us" for name, label in
        (("A", "ours A"), ("B", "ours B"), ("mlflow", "MLflow"))))
    for name in ("A", "B"):
        print(f"ours {name} outcomes: " + ", ".join(f"{k} {v:,}" for k, v in sorted(outcomes[name].items()))
              + f"; largest |PD - stored PD| {worst_gap[name]:.1e}")
    print(f"MLflow: largest |PD - stored PD| {worst_gap['mlflow']:.1e} (the same model)")
    verdicts = []
    for name, label in (("A", "ours A"), ("B", "ours B")):
        mean_ratio = sum(latencies["mlflow"]) / sum(latencies[name])
        p50_ratio = percentile(latencies["mlflow"], .5) / percentile(latencies[name], .5)
        verdict = "PASS" if mean_ratio >= 3 and p50_ratio >= 3 else "MISSED"
        verdicts.append(verdict)
        print(f"ratio MLflow / {label}: mean {mean_ratio:.2f}x, p50 {p50_ratio:.2f}x -> target at least 3x "
              f"faster per request: {verdict}")
    print(f"load average: {loadavg()} at the end ({load_after} right after the measured loop)")
    if args.profile:
        if len(spare) < args.profile + 20:
            print(f"profile: only {len(spare)} unused firms; lower --applicants or raise --firms")
        else:
            profile_ours(built["stores"]["A"], built["serving"], built["keys"]["A"], spare[:args.profile + 20], top=30)


def mlflow_version() -> str:
    from importlib.metadata import version

    return version("mlflow")


if __name__ == "__main__":
    main()
