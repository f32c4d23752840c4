"""API key schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from centrex.resources.fields import IsoDateTime, StrictModel

KeyName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class ApiKeyCreate(StrictModel):
    name: KeyName
    read_only: bool = Field(default=False, description="Read-only keys can only call `GET` operations.")
    expires_at: IsoDateTime | None = Field(default=None, description="Optional expiry (ISO-8601 with zone).")
    format: Literal["native", "hex32"] = Field(
        default="native",
        description="`native`: `cx_` + 40 base62 characters; `hex32`: 32 hex digits (VoiceTel).",
    )


class ApiKeyUpdate(StrictModel):
    name: KeyName | None = None
    expires_at: IsoDateTime | None = None


class ApiKeyRotate(StrictModel):
    overlap_seconds: int | None = Field(
        default=None,
        ge=0,
        le=30 * 86400,
        description="How long the old key keeps working (default from settings, 3600 s).",
    )


class ApiKeyFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    status: Literal["active", "revoked", "expired"] | None = None


class ApiKeyOut(BaseModel):
    id: str
    tenant_id: str
    name: str
    prefix: str = Field(description="First characters of the key, to recognise it.")
    role: str
    read_only: bool
    status: Literal["active", "revoked", "expired"]
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_by: str | None
    replaced_by_id: str | None
    created_at: datetime
    updated_at: datetime


class ApiKeyIssued(ApiKeyOut):
    key: str = Field(description="The secret. Shown only in this response: store it now.")
