"""CDR schemas: the filters of the list/export and the record as the API shows it (times ISO-8601 UTC)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints, field_validator, model_validator

from centrex.resources.fields import IsoDateTime

Direction = Literal["internal", "inbound", "outbound"]
Disposition = Literal["answered", "busy", "no_answer", "failed", "cancelled", "in_progress", "interrupted"]
MISSED: tuple[str, ...] = ("no_answer", "cancelled", "busy")


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


UtcTime = Annotated[datetime, PlainSerializer(_utc, return_type=str)]


class CdrFilters(BaseModel):
    """List/export filters; all given ones must hold."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)  # shares the query string with limit/offset

    from_: IsoDateTime | None = Field(
        default=None, alias="from", description="Calls started at or after this time (ISO-8601 with a zone)."
    )
    to: IsoDateTime | None = Field(default=None, description="Calls started before this time (ISO-8601 with a zone).")
    extension_id: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = Field(
        default=None, description="Calls of this extension (to it, or internal calls from it)."
    )
    number: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = Field(
        default=None,
        description="Digits of a number: matches the caller, the callee or the DID when its digits are equal to "
        "these or end with them (`4155550100` finds `+14155550100`). Other characters are ignored.",
    )
    direction: Direction | None = None
    disposition: Disposition | None = None

    @field_validator("number")
    @classmethod
    def _digits(cls, value: str | None) -> str | None:
        if value is None:
            return None
        digits = "".join(c for c in value if c.isascii() and c.isdigit())
        if not digits:
            raise ValueError("must contain at least one digit")
        return digits

    @model_validator(mode="after")
    def _range(self) -> CdrFilters:
        if self.from_ is not None and self.to is not None and self.to <= self.from_:
            raise ValueError("`to` must be later than `from`")
        return self


class MissedFilters(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    from_: IsoDateTime | None = Field(default=None, alias="from", description="Started at or after (ISO-8601).")
    to: IsoDateTime | None = Field(default=None, description="Started before (ISO-8601 with a zone).")


class CdrOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    call_id: str = Field(description="SIP Call-ID of the first leg.")
    direction: Direction
    caller_number: str
    caller_name: str | None
    callee_number: str
    did: str | None
    extension_id: str | None = Field(
        description="The called extension (inbound, internal) or the calling one (outbound)."
    )
    trunk_id: str | None
    started_at: UtcTime
    answered_at: UtcTime | None
    ended_at: UtcTime | None
    duration_seconds: int = Field(description="Start to end, whole seconds rounded up.")
    billable_seconds: int = Field(description="Answer to end, whole seconds rounded up; 0 when never answered.")
    disposition: Disposition
    hangup_cause: int | None = Field(description="SIP status that ended the call (e.g. 486); null for a BYE.")
    hangup_by: str | None = Field(description="caller, callee or system.")
    legs: list[dict[str, Any]]
