"""``/v1/webhook-endpoints``: where events are delivered, their secrets, deliveries and redeliveries.

Roles: **admin** registers, changes, disables, deletes endpoints, reads and rotates their
secrets and asks for redeliveries. **finance** may read endpoints and their deliveries: a
disabled endpoint (a day of failed deliveries) is theirs to notice, not to fix. Secrets are
returned once, at creation and rotation, and to admins at ``GET .../secret``; they are stored
as they are, because signing needs them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from api.kit.auth import Caller, requires
from api.kit.db import SessionDep, runs_sql, take_write_lock
from api.kit.errors import responses
from api.kit.idempotency import IdempotencyDep
from api.webhooks import service
from api.webhooks.schemas import (DeliveryOut, DeliveryPage, EndpointChange, EndpointCreate, EndpointCreated,
                                  EndpointOut, EndpointPage, RotationIn, RotationOut, SecretOut)

router = APIRouter(prefix="/v1/webhook-endpoints", tags=["webhooks"])

Admin = Annotated[Caller, requires("admin")]
Reader = Annotated[Caller, requires("finance", "admin")]
EndpointId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The endpoint's id.")]
DeliveryId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The delivery's id.")]
Cursor = Annotated[str | None, Query(max_length=60, description="`next_cursor` of the page before.")]


@router.post("", status_code=201, response_model=EndpointCreated, responses=responses(400, 401, 403, 409, 413, 422))
@runs_sql
def create_endpoint(body: EndpointCreate, session: SessionDep, _admin: Admin, idem: IdempotencyDep) -> Response:
    """Register an endpoint; it receives the events committed from now on. Its signing secret is in this response only."""
    take_write_lock(session)
    created = service.create(session, body)
    return idem.respond(created, status_code=201, stored_content=created.model_copy(update={"secret": None}))


@router.get("", response_model=EndpointPage, responses=responses(401, 403, 422))
@runs_sql
def list_endpoints(session: SessionDep, _reader: Reader, cursor: Cursor = None,
                   limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE, description="Endpoints per page.")] = 50,
                   ) -> EndpointPage:
    """The endpoints, oldest first, with their status (a disabled one says why and since when)."""
    return service.page(session, cursor, limit)


@router.get("/{endpoint_id}", response_model=EndpointOut, responses=responses(401, 403, 404, 422))
@runs_sql
def get_endpoint(endpoint_id: EndpointId, session: SessionDep, _reader: Reader) -> EndpointOut:
    """One endpoint."""
    return service.one(session, endpoint_id)


@router.patch("/{endpoint_id}", response_model=EndpointOut, responses=responses(401, 403, 404, 413, 422))
@runs_sql
def change_endpoint(endpoint_id: EndpointId, body: EndpointChange, session: SessionDep, admin: Admin) -> EndpointOut:
    """Change its URL, description or subscription; disable it, or enable it again (it then catches up, in order).

    Disabling writes a `webhook_endpoint.disabled` event. A subscription change applies to
    events not yet queued for it.
    """
    return service.change(session, endpoint_id, body, admin)


@router.delete("/{endpoint_id}", status_code=204, response_class=Response, responses=responses(401, 403, 404, 422))
@runs_sql
def delete_endpoint(endpoint_id: EndpointId, session: SessionDep, _admin: Admin) -> Response:
    """Delete the endpoint with its deliveries and their attempts; nothing more is sent to it."""
    service.remove(session, endpoint_id)
    return Response(status_code=204)


@router.get("/{endpoint_id}/secret", response_model=SecretOut, responses=responses(401, 403, 404, 422))
@runs_sql
def reveal_secret(endpoint_id: EndpointId, session: SessionDep, _admin: Admin) -> SecretOut:
    """The endpoint's signing secret, and the previous one while it still signs (after a rotation)."""
    return service.secret(session, endpoint_id)


@router.post("/{endpoint_id}/secret-rotations", status_code=201, response_model=RotationOut,
             responses=responses(400, 401, 403, 404, 409, 413, 422))
@runs_sql
def rotate_secret(endpoint_id: EndpointId, session: SessionDep, _admin: Admin, idem: IdempotencyDep,
                  body: RotationIn | None = None) -> Response:
    """Give the endpoint a new secret; the old one keeps signing beside it for `overlap_seconds` (default 24 h).

    During the overlap every delivery carries two signatures (`v1,<new> v1,<old>`), so a
    receiver can switch to the new secret whenever it likes within it.
    """
    rotated = service.rotate(session, endpoint_id, (body or RotationIn()).overlap_seconds)
    return idem.respond(rotated, status_code=201, stored_content=rotated.model_copy(update={"secret": None}))


@router.get("/{endpoint_id}/deliveries", response_model=DeliveryPage, responses=responses(401, 403, 404, 422))
@runs_sql
def list_deliveries(endpoint_id: EndpointId, session: SessionDep, _reader: Reader, cursor: Cursor = None,
                    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE, description="Deliveries per page.")] = 50,
                    status: Annotated[Literal["pending", "delivered", "failed"] | None,
                                      Query(description="Only deliveries in this status.")] = None) -> DeliveryPage:
    """The endpoint's deliveries, newest first, each with every attempt (time, HTTP status or error, duration)."""
    return service.deliveries(session, endpoint_id, cursor, limit, status)


@router.post("/{endpoint_id}/deliveries/{delivery_id}/redeliveries", status_code=202, response_model=DeliveryOut,
             responses=responses(400, 401, 403, 404, 409, 413, 422))
@runs_sql
def redeliver(endpoint_id: EndpointId, delivery_id: DeliveryId, session: SessionDep, _admin: Admin,
              idem: IdempotencyDep) -> Response:
    """Send a delivery again (delivered or failed ones too), with the same `webhook-id`; due at once.

    The dispatcher sends it on its next pass, with a fresh retry schedule; to a disabled
    endpoint, once it is enabled again. Later events about the same object wait for it.
    """
    return idem.respond(service.redeliver(session, endpoint_id, delivery_id), status_code=202)
