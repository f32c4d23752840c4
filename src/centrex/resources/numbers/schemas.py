"""Number schemas: the DID itself (assigned by the reseller/platform), its caller-ID name (CNAM), inbound CNAM
lookup and where inbound SMS goes."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from centrex.resources.destinations import ObjId
from centrex.resources.fields import E164, Email, StrictModel

Description = Annotated[str, StringConstraints(max_length=500)]
CnamName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=15, pattern=r"^[A-Za-z0-9 .,&'-]+$"),
    Field(
        description="Caller-ID name shown to called parties: 1–15 letters, digits, spaces and . , & ' -",
        examples=["ACME Corp"],
    ),
]
_HOST = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")
_SIP_URI = re.compile(
    r"^sips?:([A-Za-z0-9._~!$&'()*+,;=%-]{1,64}@)?[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?"
    r"(:[0-9]{1,5})?(;[A-Za-z0-9._~=-]{1,64}){0,10}$"
)


def _https_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https":
        raise ValueError("must be an https:// URL")
    if parts.username or parts.password:
        raise ValueError("must not carry credentials")
    host = (parts.hostname or "").lower()
    if not host or not (_HOST.fullmatch(host) or re.fullmatch(r"[0-9.]+", host)):
        raise ValueError("needs a host name")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("has an invalid port") from None
    if port == 0:
        raise ValueError("has an invalid port")
    return value


def _sip_uri(value: str) -> str:
    if not _SIP_URI.fullmatch(value):
        raise ValueError("must be a SIP URI such as sip:sms@gateway.example.com")
    return value


HttpsUrl = Annotated[
    str,
    StringConstraints(min_length=9, max_length=2000, pattern=r"^\S+$"),
    AfterValidator(_https_url),
    Field(examples=["https://hooks.example.com/sms"]),
]
SipUri = Annotated[
    str,
    StringConstraints(max_length=255),
    AfterValidator(_sip_uri),
    Field(examples=["sip:sms@gateway.example.com"]),
]


class SmsToExtension(StrictModel):
    type: Literal["extension"]
    id: ObjId = Field(description="An extension of the same tenant.")


class SmsToEmail(StrictModel):
    type: Literal["email"]
    address: Email


class SmsToWebhook(StrictModel):
    type: Literal["webhook"]
    url: HttpsUrl


class SmsToSip(StrictModel):
    type: Literal["sip"]
    uri: SipUri


SmsTarget = Annotated[
    SmsToExtension | SmsToEmail | SmsToWebhook | SmsToSip,
    Field(discriminator="type", description="Where inbound SMS to this number goes; null: nowhere."),
]


class NumberCreate(StrictModel):
    number: E164
    description: Description = ""
    cnam_name: CnamName | None = None
    inbound_cnam_lookup: bool = Field(default=False, description="Look up the caller's name on inbound calls.")
    sms_target: SmsTarget | None = None


class NumberUpdate(StrictModel):
    """What a tenant administrator may change on a number (assignment and release stay with the provider)."""

    description: Description | None = None
    cnam_name: CnamName | None = Field(default=None, description="null clears the caller-ID name.")
    inbound_cnam_lookup: bool | None = None
    sms_target: SmsTarget | None = Field(default=None, description="null: inbound SMS go nowhere.")

    @model_validator(mode="after")
    def _no_null_required(self) -> NumberUpdate:
        for name in ("description", "inbound_cnam_lookup"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class NumberFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    q: Annotated[str, StringConstraints(max_length=32)] | None = Field(
        default=None, description="Digits contained in the number."
    )
    inbound_cnam_lookup: bool | None = None
    routed: bool | None = Field(default=None, description="Only numbers with (or without) an inbound route.")


class NumberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    number: str
    description: str
    cnam_name: str | None
    inbound_cnam_lookup: bool
    sms_target: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
