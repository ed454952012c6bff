"""What the app loads at startup and every request reads: the policy in force and the champion PD model.

:func:`load` runs in the app's lifespan (:func:`api.app.create_app`), before the first
request, so no request waits on its event loop for a model to be read from disk. A test or a
deployment may set ``app.state.policy`` or ``app.state.serving_model`` before the app starts
(or swap them while it runs); what is set is kept.

A champion read from the serving folder is watched (:class:`ChampionWatch`): a thread of the
app looks at the folder's version marker every ``serving_check_seconds`` and, when an export
(``credit retrain`` promoting, ``credit models export-champion``) replaced it, reads the new
files and swaps ``app.state.serving_model`` for the new model in one assignment. A request
holds the model it read for its whole length, old or new, never a half-read one; requests pay
nothing for the watch.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from fastapi import FastAPI, Request

from api.kit.db import request_store
from api.kit.errors import ServiceUnavailable
from credit.models.serving import ServingModel, version_marker
from credit.policy import Policy, default_policy
from credit.settings import Settings

log = logging.getLogger("api.champion")

_SLEEP_STEP_SECONDS = 0.1
"""How soon the champion watch notices it is stopped."""


def load(app: FastAPI, settings: Settings) -> None:
    """Put the policy and the champion in ``app.state``, keeping any already set; watch the serving folder.

    A champion that cannot be read does not stop the app: the routes that need it answer 503
    ``model_unavailable`` (:func:`champion`) until the files are exported; the watch loads them then.
    """
    if getattr(app.state, "policy", None) is None:
        app.state.policy = default_policy()
    app.state.champion_watch = None
    if getattr(app.state, "serving_model", None) is not None:
        return
    folder = settings.resolved_serving_folder()
    app.state.serving_model = None
    app.state.champion_unavailable = (
        f"No champion PD model could be read from {folder}; export it with `credit models export-champion --out "
        f"{folder}` (or set CREDIT_SERVING_FOLDER): the service loads it within {settings.serving_check_seconds:g} s, "
        "no restart needed.")
    watch = ChampionWatch(app, folder, settings.serving_check_seconds)
    watch.check()
    watch.start()
    app.state.champion_watch = watch


def stop(app: FastAPI) -> None:
    """Stop watching the serving folder (the app's shutdown)."""
    watch = getattr(app.state, "champion_watch", None)
    if watch is not None:
        watch.stop()


class ChampionWatch:
    """Reloads the champion when the serving folder's version marker changes.

    Parameters
    ----------
    app
        Whose ``state.serving_model`` is replaced.
    folder
        The serving folder.
    every
        Seconds between two looks at the marker (one small file read).
    """

    def __init__(self, app: FastAPI, folder: Path, every: float) -> None:
        self.app, self.folder, self.every = app, folder, every
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._installed: ServingModel | None = None  # the model this watch put in app.state
        self._refused: str | None = None  # the marker whose files could not be read, said once

    def check(self) -> bool:
        """Read the folder again if its marker differs from the served model's; whether the model changed.

        A model that someone else put in ``app.state`` (a test, a deployment) is kept.
        """
        marker = version_marker(self.folder)
        served: ServingModel | None = self.app.state.serving_model
        if served is not self._installed or marker is None or (served is not None and served.marker == marker):
            return False
        try:
            model = ServingModel.load(self.folder)
        except Exception as exc:  # noqa: BLE001 - missing, partial or corrupt files: keep serving what we have
            if marker != self._refused:
                log.warning("the serving files at %s cannot be read (%s: %s); still serving %s", self.folder,
                            type(exc).__name__, exc, f"version {served.version}" if served else "no model")
                self._refused = marker
            return False
        self.app.state.serving_model = self._installed = model  # one assignment: a request sees old or new
        if served is not None:
            log.info("serving %s version %s from %s (was version %s)", model.name, model.version, self.folder,
                     served.version)
        return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="champion-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        # Short sleeps, not one timed Event.wait: under libfaketime (the date tests) a timed wait never ends.
        steps = max(1, round(self.every / _SLEEP_STEP_SECONDS))
        while True:
            for _ in range(steps):
                time.sleep(_SLEEP_STEP_SECONDS)
                if self._stopped.is_set():
                    return
            try:
                self.check()
            except Exception:  # noqa: BLE001 - the watch must outlive any one bad look at the folder
                log.exception("checking the serving folder %s failed", self.folder)


def policy_of(request: Request) -> Policy:
    """The policy in force (loaded at startup, or the one a test or deployment set)."""
    return request.app.state.policy


def champion(where: Request | FastAPI) -> ServingModel:
    """The champion PD model loaded at startup; for a request on the sandbox, the sandbox's fixed-PD model.

    Parameters
    ----------
    where
        The request (the sandbox's requests have their own model), or the app.

    Raises
    ------
    ServiceUnavailable
        ``model_unavailable`` (503): no readable serving files were found yet.
    """
    model = champion_if_available(where)
    if model is None:
        raise ServiceUnavailable(where.app.state.champion_unavailable if isinstance(where, Request)
                                 else where.state.champion_unavailable, code="model_unavailable")
    return model


def champion_if_available(where: Request | FastAPI) -> ServingModel | None:
    """The champion (the sandbox's model for a request on the sandbox), or None when none could be read yet."""
    if isinstance(where, Request):
        store = request_store(where)
        return where.app.state.serving_model if store is None else store.model
    return where.state.serving_model
