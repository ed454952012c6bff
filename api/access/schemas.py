"""Request and response schemas of the API-key administration routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.kit.contract import UtcDateTime


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"\S", description="Who or what holds the key.")
    role: Literal["checkout", "payments", "finance", "analyst", "admin"]
    client: str | None = Field(
        default=None, min_length=1, max_length=100, pattern=r"\S",
        description="The client the key belongs to (its holds, references and Idempotency-Keys are the client's, "
                    "shared by its keys); default: `name`.")


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key_id: int
    name: str
    client: str = Field(description="The client the key belongs to; a rotation keeps it.")
    role: Literal["checkout", "payments", "finance", "analyst", "admin"]
    prefix: str = Field(description="First characters of the key, to recognise it.")
    created_at: UtcDateTime
    revoked_at: UtcDateTime | None


class ApiKeyIssued(ApiKeyOut):
    key: str | None = Field(
        description="The key itself, shown once. Null when this response is a replay "
        "(`Idempotent-Replayed: true`): the key is not stored; revoke it and issue another if lost."
    )


class ApiKeyList(BaseModel):
    """One page of keys, newest first; pass `next_cursor` as `cursor` for the next one."""

    items: list[ApiKeyOut]
    next_cursor: str | None = Field(description="Opaque; null on the last page.")
