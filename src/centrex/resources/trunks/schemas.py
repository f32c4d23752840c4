"""Trunk schemas. The password is write-only (``password_set`` tells whether one is stored); addresses are IPv4."""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from centrex.resources.fields import E164, Hostname, StrictModel
from centrex.resources.trunks.addresses import parse_cidr

TrunkKind = Literal["registration", "ip"]
Transport = Literal["udp", "tcp", "tls"]
Codec = Literal["PCMU", "PCMA", "G722", "telephone-event"]
CallerIdMode = Literal["passthrough", "fixed", "extension"]
NumberFormat = Literal["e164", "national", "e164_no_plus"]
DEFAULT_CODECS: list[Codec] = ["PCMU", "PCMA", "telephone-event"]

_HOSTNAME = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")


def _host(value: str) -> str:
    value = value.strip().lower()
    if ":" in value:
        raise ValueError("IPv6 is not supported; give a host name or an IPv4 address (the port goes in `port`)")
    if re.fullmatch(r"[0-9.]+", value):
        try:
            return str(ipaddress.IPv4Address(value))
        except ValueError:
            raise ValueError("not a valid IPv4 address") from None
    if not _HOSTNAME.fullmatch(value) or value.rsplit(".", 1)[-1].isdigit():
        raise ValueError("not a host name (sip.carrier.example) or an IPv4 address")
    return value


def _cidr(value: str) -> str:
    return str(parse_cidr(value.strip()))


Host = Annotated[
    str,
    StringConstraints(min_length=1, max_length=253),
    AfterValidator(_host),
    Field(description="Carrier host name or public IPv4 address.", examples=["sip.carrier.example"]),
]
Cidr = Annotated[
    str,
    StringConstraints(min_length=7, max_length=18),
    AfterValidator(_cidr),
    Field(
        description="Public IPv4 address or network with a /8, /16, /24 or /32 mask (an address alone is a /32).",
        examples=["8.8.8.0/24"],
    ),
]
SipUser = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._~!$&'*+=%-]+$")]
Password = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
DialPrefix = Annotated[str, StringConstraints(max_length=16, pattern=r"^[0-9]*$")]
TrunkName = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
Port = Annotated[int, Field(ge=1, le=65535)]
Expiry = Annotated[int, Field(ge=60, le=86400, description="Seconds asked for in REGISTER.")]
MaxChannels = Annotated[int, Field(ge=1, le=1000, description="Concurrent calls; null: unlimited.")]


def _unique(values: list[str] | None) -> list[str] | None:
    if values is not None and len(values) != len(set(values)):
        raise ValueError("must not repeat a value")
    return values


class TrunkCreate(StrictModel):
    name: TrunkName
    kind: TrunkKind = Field(
        description="`registration`: the trunk registers/authenticates with credentials; `ip`: the carrier is "
        "recognised by source address (`allowed_ips`)."
    )
    shared: bool = Field(
        default=False,
        description="Platform and reseller trunks only: usable by the outbound routes of every tenant below.",
    )
    host: Host
    port: Port = 5060
    transport: Transport = "udp"
    username: SipUser | None = None
    auth_username: SipUser | None = Field(default=None, description="Digest user name when it differs.")
    password: Password | None = Field(default=None, description="Write-only; `password_set` tells if one is stored.")
    # ``register`` is a BaseModel attribute, hence the alias.
    register_: bool = Field(default=False, alias="register", description="Keep a registration with the carrier.")
    registration_expiry: Expiry = 3600
    from_domain: Hostname | None = None
    allowed_ips: list[Cidr] = Field(default_factory=list, max_length=100)
    codecs: list[Codec] = Field(default_factory=lambda: list(DEFAULT_CODECS), min_length=1, max_length=4)
    max_channels: MaxChannels | None = None
    caller_id_mode: CallerIdMode = "passthrough"
    caller_id_number: E164 | None = Field(default=None, description="Required with caller_id_mode `fixed`.")
    number_format: NumberFormat = "e164"
    dial_prefix: DialPrefix = ""
    enabled: bool = True

    _unique_lists = field_validator("allowed_ips", "codecs")(_unique)


class TrunkUpdate(StrictModel):
    name: TrunkName | None = None
    kind: TrunkKind | None = None
    shared: bool | None = None
    host: Host | None = None
    port: Port | None = None
    transport: Transport | None = None
    username: SipUser | None = None
    auth_username: SipUser | None = None
    password: Password | None = Field(default=None, description="null removes the stored password.")
    register_: bool | None = Field(default=None, alias="register")
    registration_expiry: Expiry | None = None
    from_domain: Hostname | None = None
    allowed_ips: list[Cidr] | None = Field(default=None, max_length=100)
    codecs: list[Codec] | None = Field(default=None, min_length=1, max_length=4)
    max_channels: MaxChannels | None = None
    caller_id_mode: CallerIdMode | None = None
    caller_id_number: E164 | None = None
    number_format: NumberFormat | None = None
    dial_prefix: DialPrefix | None = None
    enabled: bool | None = None

    _unique_lists = field_validator("allowed_ips", "codecs")(_unique)


# Fields of ``TrunkUpdate`` that may be null (clearing them); any other null is refused.
NULLABLE = frozenset({"username", "auth_username", "password", "from_domain", "max_channels", "caller_id_number"})


class TrunkFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    kind: TrunkKind | None = None
    shared: bool | None = None
    enabled: bool | None = None
    q: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="Search in name and host."
    )


class TrunkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    name: str
    kind: str
    shared: bool
    host: str
    port: int
    transport: str
    username: str | None
    auth_username: str | None
    password_set: bool
    register_: bool = Field(alias="register")
    registration_expiry: int
    from_domain: str | None
    allowed_ips: list[str]
    codecs: list[str]
    max_channels: int | None
    caller_id_mode: str
    caller_id_number: str | None
    number_format: str
    dial_prefix: str
    enabled: bool
    created_at: datetime
    updated_at: datetime


class AvailableTrunk(BaseModel):
    """A trunk this tenant's outbound routes may use: no address, credential or carrier detail."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str = Field(description="The owner: this tenant, or the platform/reseller above that shares it.")
    name: str
    kind: str
    shared: bool
    inherited: bool = Field(description="True for a shared trunk of a tenant above this one.")
    codecs: list[str]
    max_channels: int | None
    enabled: bool


class AvailableTrunks(BaseModel):
    items: list[AvailableTrunk]
    total: int


class TrunkRegistrationOut(BaseModel):
    """The engine's registration with the carrier for one trunk (live state, not stored)."""

    trunk_id: str
    state: Literal["unregistered", "registering", "registered", "failed"] = Field(
        description="`registered`: the carrier accepted our contact until `expires_at`; `failed`: the last attempt "
        "failed (retried with backoff); `unregistered`: the engine does not register this trunk (see `reason`)."
    )
    status_code: int | None = Field(default=None, description="Status of the carrier's last final answer.")
    reason: str | None = Field(default=None, description="Its reason phrase, or why the trunk is not registered.")
    expires_at: datetime | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = Field(default=None, description="When the next refresh or retry is due.")
    updated_at: datetime | None = None
