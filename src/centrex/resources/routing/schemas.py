"""Schemas of ``POST /routing/resolve``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from centrex.resources.fields import IsoDateTime, StrictModel

Dialled = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^\+?[0-9*#() .-]{1,40}$")]


class ResolveIn(StrictModel):
    dialled: Dialled = Field(
        description="A DID (E.164 or national form) for inbound calls, or what an extension "
        "dialled for internal/outbound calls.",
        examples=["+14155550100"],
    )
    direction: Literal["inbound", "internal"] | None = Field(
        default=None, description="Default: internal when `from_extension` is given, else inbound."
    )
    from_extension: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        default=None, description="Calling extension (id or number) for internal and outbound calls."
    )
    caller_id: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        default=None, description="Caller's number, for caller-ID blocks and caller-ID patterns."
    )
    at: IsoDateTime | None = Field(default=None, description="When the call happens (default: now).")
    explain: bool = Field(default=False, description="Also resolve every branch (IVR keys, no answer, overflow…).")


class TraceEntry(BaseModel):
    kind: str
    detail: str
    id: str | None = None
    name: str | None = None


class ResolveOut(BaseModel):
    tenant_id: str
    direction: Literal["inbound", "internal"]
    dialled: str
    at: datetime
    step: dict[str, Any] = Field(description="The next step of the call, as the engine runs it.")
    trace: list[TraceEntry] = Field(description="How the call got there, in order.")
    branches: dict[str, Any] | None = Field(default=None, description="With `explain`: every branch resolved.")


class PlatformResolveIn(StrictModel):
    did: Dialled = Field(description="A DID in E.164 (or national) form.")
    caller_id: Annotated[str, StringConstraints(max_length=40)] | None = None
    at: IsoDateTime | None = None
    explain: bool = False
