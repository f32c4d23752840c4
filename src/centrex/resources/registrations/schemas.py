"""Registration API schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class RegistrationFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    extension_id: Annotated[str, StringConstraints(max_length=40)] | None = None


class RegistrationOut(BaseModel):
    """One registered contact (RFC 3261 §10 binding) of an extension."""

    id: str
    tenant_id: str
    extension_id: str
    extension_number: str
    aor: str = Field(description="Address of record, `sip:<sip_username>@<tenant sip_domain>`.")
    contact: str = Field(description="The Contact as registered (with its parameters).")
    contact_uri: str
    source_ip: str = Field(description="Address the REGISTER came from (the phone, or its NAT).")
    source_port: int
    transport: str = Field(description="`udp`, `tcp`, `tls`, `ws` or `wss` (the connection the phone registered on).")
    user_agent: str | None
    instance_id: str | None = Field(description="`+sip.instance` (RFC 5626), when the phone sent one.")
    expires_at: datetime
    expires_in: int = Field(description="Seconds left until the binding expires.")
    registered_at: datetime = Field(description="When this contact first registered.")
    updated_at: datetime = Field(description="Last refresh.")
