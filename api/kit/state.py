"""What the app loads once, at startup, and every request reads: the policy in force and the champion PD model.

:func:`load` runs in the app's lifespan (:func:`api.app.create_app`), before the first
request, so no request waits on its event loop for a model to be read from disk. A test or a
deployment may set ``app.state.policy`` or ``app.state.serving_model`` before the app starts
(or swap them while it runs); what is set is kept.
"""

from __future__ import annotations

from fastapi import FastAPI, Request

from api.kit.db import request_store
from api.kit.errors import ServiceUnavailable
from credit.models.serving import ServingModel
from credit.policy import Policy, default_policy
from credit.settings import Settings


def load(app: FastAPI, settings: Settings) -> None:
    """Put the policy and the champion in ``app.state``, keeping any already set.

    A champion that cannot be read does not stop the app: the routes that need it answer 503
    ``model_unavailable`` (:func:`champion`) until the service restarts with the files in place.
    """
    if getattr(app.state, "policy", None) is None:
        app.state.policy = default_policy()
    if getattr(app.state, "serving_model", None) is not None:
        return
    folder = settings.resolved_serving_folder()
    try:
        app.state.serving_model = ServingModel.load(folder)
    except Exception as exc:  # noqa: BLE001 - missing, partial or corrupt files: all "no model"
        app.state.serving_model = None
        app.state.champion_unavailable = (
            f"No champion PD model could be read from {folder} at startup ({type(exc).__name__}); export it with "
            f"`credit models export-champion --out {folder}` (or set CREDIT_SERVING_FOLDER) and restart the service.")


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
        ``model_unavailable`` (503): no readable serving files were found at startup.
    """
    model = champion_if_available(where)
    if model is None:
        raise ServiceUnavailable(where.app.state.champion_unavailable if isinstance(where, Request)
                                 else where.state.champion_unavailable, code="model_unavailable")
    return model


def champion_if_available(where: Request | FastAPI) -> ServingModel | None:
    """The champion (the sandbox's model for a request on the sandbox), or None when none could be read at startup."""
    if isinstance(where, Request):
        store = request_store(where)
        return where.app.state.serving_model if store is None else store.model
    return where.state.serving_model
