"""Routes to issue, list and revoke API keys; admin role only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from api.access.schemas import ApiKeyCreate, ApiKeyIssued, ApiKeyList, ApiKeyOut
from api.kit.auth import Caller, create_api_key, list_api_keys, requires, revoke_api_key
from api.kit.db import SessionDep, runs_sql, take_write_lock
from api.kit.errors import Unprocessable, invalid, responses
from api.kit.idempotency import IdempotencyDep
from api.kit.tables import ApiKey
from credit.paging import InvalidCursor, decode_cursor, encode_cursor

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])

Admin = Annotated[Caller, requires("admin")]
MAX_PAGE = 500
_CURSOR = "api-key"
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


@router.get("", response_model=ApiKeyList, responses=responses(401, 403, 422))
@runs_sql
def list_keys(
    session: SessionDep, _admin: Admin,
    cursor: Annotated[str | None, Query(min_length=1, max_length=60,
                                        description="`next_cursor` of the previous page, as given.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Most keys on the page.")] = 100,
) -> ApiKeyList:
    """List API keys, newest first, one page at a time (never the keys themselves)."""
    try:
        before_id = None if cursor is None else decode_cursor(_CURSOR, cursor)
    except InvalidCursor as exc:
        raise invalid("query", "cursor", str(exc)) from None
    keys = list_api_keys(session, before_id=before_id, limit=limit + 1)
    page = keys[:limit]
    return ApiKeyList(items=[ApiKeyOut.model_validate(k) for k in page],
                      next_cursor=encode_cursor(_CURSOR, page[-1].key_id) if len(keys) > limit else None)


@router.delete("/{key_id}", response_model=ApiKeyOut, responses=responses(401, 403, 404, 422))
@runs_sql
def revoke_key(key_id: KeyId, session: SessionDep, _admin: Admin) -> ApiKeyOut:
    """Revoke an API key; it is refused from the next request on (revoking twice is harmless)."""
    take_write_lock(session)  # reads the key, then writes
    return ApiKeyOut.model_validate(revoke_api_key(session, key_id))
