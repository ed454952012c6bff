"""Routes of the decision audit trail.

Roles: ``finance``, ``analyst`` and ``admin`` read every decision; a ``checkout`` key reads
only the decisions made on its own requests (others are 404, as if they did not exist).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.decisions.schemas import DecisionOut
from api.decisions.service import decision_out, visible_decision
from api.kit.auth import Caller, requires
from api.kit.db import SessionDep
from api.kit.errors import responses

router = APIRouter(tags=["decisions"])

Reader = Annotated[Caller, requires("checkout", "finance", "analyst", "admin")]
DecisionId = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$",
                                 description="The decision's id (a UUID).")]


@router.get("/v1/decisions/{decision_id}", response_model=DecisionOut, responses=responses(401, 403, 404, 422))
def get_decision(decision_id: DecisionId, session: SessionDep, caller: Reader) -> DecisionOut:
    """One audited decision: request, inputs, model and policy versions, rules fired, outcome and reasons."""
    return decision_out(visible_decision(session, caller, decision_id))
