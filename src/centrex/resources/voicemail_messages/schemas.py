"""Voicemail message API schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from centrex.resources.fields import IsoDateTime, StrictModel

Folder = Literal["inbox", "old", "saved", "work", "family", "friends"]
FOLDER_DESCRIPTION = "`inbox` (new), `old` (heard), `saved`, `work`, `family` or `friends`."
CallerNumber = Annotated[
    str,
    StringConstraints(max_length=64, strip_whitespace=True, pattern=r"^[^\x00-\x1f\x7f]*$"),
    Field(examples=["+14155550100"]),
]
CallerName = Annotated[str, StringConstraints(max_length=100, strip_whitespace=True, pattern=r"^[^\x00-\x1f\x7f]*$")]
CallId = Annotated[str, StringConstraints(max_length=100, pattern=r"^[\x21-\x7e]*$")]


class MessageMeta(StrictModel):
    """Sent with an uploaded message: form fields of a multipart upload, or query parameters of a raw one."""

    caller_number: CallerNumber | None = None
    caller_name: CallerName | None = None
    received_at: IsoDateTime | None = Field(default=None, description="Default: now.")
    call_id: CallId | None = None


class MessageUpdate(StrictModel):
    heard: bool | None = Field(
        default=None,
        description="Mark heard (read) or not. Without `folder`, marking heard moves an `inbox` message to `old` "
        "and marking unheard moves an `old` one back to `inbox` (MiRTA markread/markunread).",
    )
    folder: Folder | None = Field(default=None, description=FOLDER_DESCRIPTION)

    @model_validator(mode="after")
    def _no_nulls(self) -> MessageUpdate:
        for name in ("heard", "folder"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class MessageFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    folder: Folder | None = None
    heard: bool | None = None


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    box_id: str
    folder: str = Field(description=FOLDER_DESCRIPTION)
    heard: bool
    caller_number: str | None
    caller_name: str | None
    duration_ms: int
    received_at: datetime
    size_bytes: int
    sha256: str = Field(validation_alias="blob_sha256", description="Digest of the audio (its ETag).")
    call_id: str | None
    transcript_status: str
    created_at: datetime
    updated_at: datetime
