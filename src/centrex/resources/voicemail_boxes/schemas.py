"""Voicemail-box API schemas: the mailbox settings in and out (the PIN is write-only), and the PIN change."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from centrex.resources.destinations import ObjId
from centrex.resources.fields import Email, Language, Name, StrictModel

BoxNumber = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{2,10}$"),
    Field(
        description="Mailbox number: 2–10 digits, unique in the tenant (not a dialled number; usually the owner's "
        "extension number).",
        examples=["101"],
    ),
]
Pin = Annotated[str, StringConstraints(pattern=r"^[0-9]{4,10}$"), Field(description="4–10 digits.", examples=["4711"])]
GreetingKind = Literal["unavailable", "busy", "temporary", "name"]
ActiveGreeting = Literal["unavailable", "busy", "temporary"]
Greetings = Annotated[
    dict[GreetingKind, ObjId],
    Field(
        max_length=4,
        description="Recorded greetings: `unavailable`, `busy`, `temporary`, `name` → a media file of this tenant.",
    ),
]
MaxSeconds = Annotated[int, Field(ge=10, le=3600, description="Longest message, seconds.")]
MaxMessages = Annotated[int, Field(ge=1, le=10000, description="Messages kept before the box is full.")]
Retention = Annotated[int, Field(ge=1, le=3650, description="Days messages are kept; null: until deleted.")]


class VoicemailBoxCreate(StrictModel):
    number: BoxNumber | None = Field(default=None, description="Default: the owner extension's number.")
    name: Name | None = Field(default=None, description="Default: the owner extension's name.")
    owner_extension_id: ObjId | None = Field(
        default=None, description="The extension whose personal box this is (one box per extension)."
    )
    pin: Pin | None = Field(
        default=None,
        description="Write-only. Without one, a personal box uses its extension's voicemail PIN.",
    )
    greetings: Greetings = Field(default_factory=dict)
    active_greeting: ActiveGreeting = "unavailable"
    max_message_seconds: MaxSeconds = 180
    max_messages: MaxMessages = 100
    email: Email | None = Field(default=None, description="New messages are e-mailed here.")
    email_attach: bool = Field(default=True, description="Attach the audio to the e-mail.")
    email_delete: bool = Field(default=False, description="Delete the message once e-mailed (needs email).")
    transcription: bool = False
    retention_days: Retention | None = None
    play_caller_id: bool = True
    play_datetime: bool = True
    language: Language | None = None


class VoicemailBoxUpdate(StrictModel):
    number: BoxNumber | None = None
    name: Name | None = None
    owner_extension_id: ObjId | None = None
    pin: Pin | None = Field(default=None, description="Write-only; null clears it.")
    greetings: Greetings | None = None
    active_greeting: ActiveGreeting | None = None
    max_message_seconds: MaxSeconds | None = None
    max_messages: MaxMessages | None = None
    email: Email | None = None
    email_attach: bool | None = None
    email_delete: bool | None = None
    transcription: bool | None = None
    retention_days: Retention | None = None
    play_caller_id: bool | None = None
    play_datetime: bool | None = None
    language: Language | None = None

    @model_validator(mode="after")
    def _no_null_required(self) -> VoicemailBoxUpdate:
        for name in (
            "number",
            "name",
            "greetings",
            "active_greeting",
            "max_message_seconds",
            "max_messages",
            "email_attach",
            "email_delete",
            "transcription",
            "play_caller_id",
            "play_datetime",
        ):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class PinChange(StrictModel):
    pin: Pin | None = Field(description="The new PIN; null clears it (a personal box then uses the extension's).")


class VoicemailBoxFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    number: Annotated[str, StringConstraints(max_length=16)] | None = None
    owner_extension_id: Annotated[str, StringConstraints(max_length=40)] | None = None
    q: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="Search in number and name."
    )


class VoicemailBoxOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    number: str
    name: str
    owner_extension_id: str | None
    pin_set: bool = Field(description="The box has a PIN of its own.")
    greetings: dict[str, Any]
    active_greeting: str
    max_message_seconds: int
    max_messages: int
    email: str | None
    email_attach: bool
    email_delete: bool
    transcription: bool
    retention_days: int | None
    play_caller_id: bool
    play_datetime: bool
    language: str | None
    created_at: datetime
    updated_at: datetime
