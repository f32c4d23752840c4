"""Extension API schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from centrex.domain.tenancy import OutboundLevel
from centrex.resources.destinations import Destination
from centrex.resources.fields import E164, Email, EmergencyLocation, Language, Name, StrictModel, TimeZone

ExtNumber = Annotated[
    str,
    StringConstraints(pattern=r"^[1-9][0-9]{1,7}$"),
    Field(
        description="Digits, not starting with 0; its length must be the tenant's `extension_length`.",
        examples=["101"],
    ),
]
SipUsername = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
SipPassword = Annotated[
    str,
    StringConstraints(min_length=12, max_length=64, pattern=r"^[\x21-\x7e]+$"),
    Field(
        description="At least 12 printable characters with a lower-case letter, an upper-case letter and a "
        "digit. Omit to have a strong one generated."
    ),
]
VoicemailPin = Annotated[str, StringConstraints(pattern=r"^[0-9]{4,10}$"), Field(description="4–10 digits.")]
ShortName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
CallerIdName = Annotated[str, StringConstraints(max_length=64)]
RecordingPolicy = Literal["never", "always", "inbound", "outbound", "on_demand"]
ForwardCondition = Literal["always", "busy", "no_answer", "unreachable"]


class ForwardRule(StrictModel):
    condition: ForwardCondition
    enabled: bool = True
    destination: Destination = Field(
        description='Any destination; `{"type": "voicemail"}` without an id is the extension\'s own box.'
    )


def _unique_conditions(rules: list[ForwardRule] | None) -> list[ForwardRule] | None:
    if rules is not None:
        seen = [r.condition for r in rules]
        if len(seen) != len(set(seen)):
            raise ValueError("at most one rule per condition")
    return rules


def _strong(password: str | None) -> str | None:
    if password is not None and not (
        any(c.islower() for c in password) and any(c.isupper() for c in password) and any(c.isdigit() for c in password)
    ):
        raise ValueError("needs a lower-case letter, an upper-case letter and a digit")
    return password


class ExtensionBase(StrictModel):
    first_name: ShortName | None = None
    last_name: ShortName | None = None
    email: Email | None = None
    mobile: E164 | None = None
    caller_id_name: CallerIdName | None = Field(default=None, description="Internal caller-ID name.")
    caller_id_number: Annotated[str, StringConstraints(pattern=r"^[0-9*#+]{1,20}$")] | None = Field(
        default=None, description="Internal caller-ID number (default: the extension number)."
    )
    external_caller_id_name: CallerIdName | None = None
    external_caller_id_number: E164 | None = Field(default=None, description="Caller ID on outside calls.")
    emergency_location: EmergencyLocation | None = Field(
        default=None, description="Dispatchable 911 location; default: the tenant's location."
    )
    language: Language | None = None
    timezone: TimeZone | None = None


class ExtensionCreate(ExtensionBase):
    number: ExtNumber
    name: Name
    enabled: bool = True
    sip_username: SipUsername | None = Field(default=None, description="Default: the extension number.")
    sip_password: SipPassword | None = None
    outbound_level: OutboundLevel = OutboundLevel.NATIONAL
    dnd: bool = False
    ring_timeout: int = Field(default=20, ge=5, le=300, description="Seconds before no-answer handling.")
    forwarding: list[ForwardRule] = Field(default_factory=list, max_length=4)
    voicemail_enabled: bool = True
    voicemail_pin: VoicemailPin | None = None
    recording_policy: RecordingPolicy = "never"

    _fwd = field_validator("forwarding")(_unique_conditions)
    _pw = field_validator("sip_password")(_strong)


class ExtensionUpdate(ExtensionBase):
    number: ExtNumber | None = None
    name: Name | None = None
    enabled: bool | None = None
    sip_username: SipUsername | None = None
    sip_password: SipPassword | None = None
    outbound_level: OutboundLevel | None = None
    dnd: bool | None = None
    ring_timeout: int | None = Field(default=None, ge=5, le=300)
    forwarding: list[ForwardRule] | None = Field(default=None, max_length=4)
    voicemail_enabled: bool | None = None
    voicemail_pin: VoicemailPin | None = None
    recording_policy: RecordingPolicy | None = None

    _fwd = field_validator("forwarding")(_unique_conditions)
    _pw = field_validator("sip_password")(_strong)

    @model_validator(mode="after")
    def _no_null_required(self) -> ExtensionUpdate:
        for name in (
            "number",
            "name",
            "enabled",
            "sip_username",
            "outbound_level",
            "dnd",
            "ring_timeout",
            "forwarding",
            "voicemail_enabled",
            "recording_policy",
            "sip_password",
        ):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


# Fields an end user (role "user") may change on their own extension.
USER_EDITABLE = frozenset(
    {
        "dnd",
        "forwarding",
        "ring_timeout",
        "voicemail_enabled",
        "voicemail_pin",
        "language",
        "timezone",
        "email",
        "mobile",
        "first_name",
        "last_name",
    }
)


class ExtensionFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    number: Annotated[str, StringConstraints(max_length=16)] | None = None
    q: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="Search in number and name."
    )
    enabled: bool | None = None
    dnd: bool | None = None


class ExtensionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    number: str
    name: str
    first_name: str | None
    last_name: str | None
    email: str | None
    mobile: str | None
    enabled: bool
    sip_username: str
    caller_id_name: str | None
    caller_id_number: str | None
    external_caller_id_name: str | None
    external_caller_id_number: str | None
    outbound_level: str
    dnd: bool
    ring_timeout: int
    forwarding: list[dict[str, Any]]
    voicemail_enabled: bool
    voicemail_pin_set: bool
    recording_policy: str
    emergency_location: dict[str, Any] | None
    language: str | None
    timezone: str | None
    created_at: datetime
    updated_at: datetime


class ExtensionCreated(ExtensionOut):
    sip_password: str = Field(description="Shown once here; read it again from `/sip-credentials`.")


class SipCredentials(BaseModel):
    username: str
    password: str
    domain: str = Field(description="The tenant's SIP domain (also the digest realm).")
    extension_id: str
