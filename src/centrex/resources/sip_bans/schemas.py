"""SIP ban API schemas: a ban source is an IPv4/IPv6 address or CIDR network, validated and canonicalised."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from centrex.resources.fields import IsoDateTime, StrictModel
from centrex.sipguard.addresses import parse_source

BanSource = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, strip_whitespace=True),
    AfterValidator(parse_source),
    Field(
        description="IPv4 or IPv6 address, or CIDR network (at most /8 for IPv4, /32 for IPv6 wide); canonicalised.",
        examples=["203.0.113.7", "198.51.100.0/24", "2001:db8:1::/48"],
    ),
]


class SipBanCreate(StrictModel):
    source_ip: BanSource
    reason: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)] = Field(
        default="manual", examples=["toll-fraud attempts seen in CDRs"]
    )
    expires_at: IsoDateTime | None = Field(
        default=None, description="When the ban ends (ISO-8601, in the future); null: until lifted."
    )


class SipBanFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    source_ip: BanSource | None = None
    active: bool | None = Field(default=None, description="true: only bans in force now; false: only expired ones.")
    created_by: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="`engine` for automatic bans, or the actor of a manual ban."
    )


class SipBanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    source_ip: str
    reason: str
    created_by: str = Field(description="`engine` (automatic) or the API actor who made it.")
    created_at: datetime
    expires_at: datetime | None
    active: bool = Field(description="In force now.")
