"""Caller-ID block schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from centrex.domain.dialpatterns import PatternError, compile_pattern
from centrex.domain.e164 import InvalidNumber, normalize
from centrex.resources.fields import StrictModel

BlockAction = Literal["reject", "hangup", "voicemail"]
_PATTERN_CHARS = frozenset("XZN[].!_")


def _caller_pattern(value: object) -> object:
    """A pattern (X, Z, N, classes, trailing . or !) is kept as written; a plain number is normalised to E.164."""
    if not isinstance(value, str):
        return value
    value = value.strip()
    if any(c in _PATTERN_CHARS for c in value):
        try:
            compile_pattern(value)
        except PatternError as exc:
            raise ValueError(f"not a dial pattern: {exc}") from None
        return value
    try:
        return normalize(value)
    except InvalidNumber as exc:
        raise ValueError(f"neither a telephone number nor a dial pattern ({exc})") from None


CallerPattern = Annotated[
    str,
    BeforeValidator(_caller_pattern),
    StringConstraints(min_length=1, max_length=40),
    Field(
        description="A caller's number (normalised to E.164) or a dial pattern over caller numbers "
        "(`+1900NXXXXXX`, `+44.`).",
        examples=["+12125550123"],
    ),
]
Reason = Annotated[str, StringConstraints(max_length=200)]


class CallerIdBlockCreate(StrictModel):
    pattern: CallerPattern
    reason: Reason = ""
    action: BlockAction = Field(
        default="reject", description="`reject` (busy/403), `hangup` (answer and hang up), `voicemail`."
    )


class CallerIdBlockUpdate(StrictModel):
    pattern: CallerPattern | None = None
    reason: Reason | None = None
    action: BlockAction | None = None


class CallerIdBlockFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    action: BlockAction | None = None
    q: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        default=None, description="Search in pattern and reason."
    )


class CallerIdBlockOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    pattern: str
    reason: str
    action: str
    created_at: datetime
    updated_at: datetime
