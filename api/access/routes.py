"""Routes to issue, list and revoke API keys; admin role only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from api.access.schemas import ApiKeyCreate, ApiKeyIssued, ApiKeyList, ApiKeyOut
from api.kit.auth import Caller, create_api_key, list_api_keys, requires, revoke_api_key
from api.kit.db import SessionDep, runs_sql, take_write_lock
from api.kit.errors import Unprocessable, responses
from api.kit.idempotency import IdempotencyDep
from api.kit.tables import ApiKey

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])

Admin = Annotated[Caller, requires("admin")]
KeyId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The key's id.")]


@router.post(
    "", status_code=201, response_model=ApiKeyIssued, responses=responses(400, 401, 403, 409, 413, 422),
)
@runs_sql
def issue_api_key(body: ApiKeyCreate, session: SessionDep, _admin: Admin, idem: IdempotencyDep) -> Response:
    """Issue an API key; the key is in this response only."""
    try:
        key_id, plaintext = create_api_key(session, body.name, body.role, client=body.client)
    except ValueError as exc:  # a name or client of the form key:<id>
        raise Unprocessable(str(exc), code="validation_failed") from exc
    issued = ApiKeyOut.model_validate(session.get(ApiKey, key_id))
    return idem.respond(
        ApiKeyIssued(**issued.model_dump(), key=plaintext),
        status_code=201,
        stored_content=ApiKeyIssued(**issued.model_dump(), key=None),
    )


@router.get("", response_model=ApiKeyList, responses=responses(401, 403))
@runs_sql
def list_keys(session: SessionDep, _admin: Admin) -> ApiKeyList:
    """List API keys, newest first (never the keys themselves)."""
    return ApiKeyList(items=[ApiKeyOut.model_validate(k) for k in list_api_keys(session)])


@router.delete("/{key_id}", response_model=ApiKeyOut, responses=responses(401, 403, 404, 422))
@runs_sql
def revoke_key(key_id: KeyId, session: SessionDep, _admin: Admin) -> ApiKeyOut:
    """Revoke an API key; it is refused from the next request on (revoking twice is harmless)."""
    take_write_lock(session)  # reads the key, then writes
    return ApiKeyOut.model_validate(revoke_api_key(session, key_id))
