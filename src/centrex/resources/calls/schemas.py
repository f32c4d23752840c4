"""Schemas of the live state: calls in progress with their legs, a tenant's counts, extension states."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class LiveLeg(BaseModel):
    leg: str = Field(description="`a` (the caller's side) or `b1`, `b2` … (each INVITE placed for the call).")
    role: Literal["caller", "callee"]
    state: Literal["trying", "ringing", "answered", "failed", "cancelled"]
    number: str
    extension_id: str | None = None
    trunk_id: str | None = None
    status: int | None = Field(default=None, description="The final SIP status this leg got.")
    source: str | None = Field(default=None, description="Where the caller's INVITE came from (transport:ip:port).")
    destination: str | None = Field(default=None, description="Where this leg's INVITE went (transport:ip:port).")


class LiveCall(BaseModel):
    id: str = Field(description="The call's CDR id (as in `/cdrs` and the `call.*` events).")
    sip_call_id: str
    direction: Literal["internal", "inbound", "outbound"]
    state: Literal["ringing", "up", "held"]
    caller: str
    caller_name: str | None
    callee: str
    did: str | None
    trunk_id: str | None
    extension_id: str | None
    started_at: datetime
    answered_at: datetime | None
    duration: int = Field(description="Seconds since the call started.")
    talk_time: int = Field(description="Seconds since it was answered (0 while ringing).")
    media_anchored: bool
    legs: list[LiveLeg]


class LiveCalls(BaseModel):
    engine_running: bool = Field(description="False when the SIP engine does not run in this process.")
    items: list[LiveCall]


class CallSummary(BaseModel):
    engine_running: bool
    calls: int = Field(description="Calls in progress.")
    ringing: int
    up: int
    held: int
    channels: int = Field(description="SIP legs held by those calls (the caller's, plus ringing or answered legs).")
    registered_extensions: int
    registered_contacts: int


ExtensionActivity = Literal["idle", "ringing", "in_use", "dnd", "offline", "disabled"]


class ExtensionState(BaseModel):
    extension_id: str
    number: str
    name: str
    state: ExtensionActivity = Field(
        description="`in_use` / `ringing` from the live calls; else `disabled`, `dnd`, `offline` (no registered "
        "phone) or `idle`."
    )
    dnd: bool
    forwarding: list[str] = Field(description="Conditions with an enabled forwarding rule (always, busy …).")
    registrations: int


class ExtensionStates(BaseModel):
    engine_running: bool
    items: list[ExtensionState]


class TransferIn(BaseModel):
    destination: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^\+?[0-9*#]+$",
        description="What the answering extension would dial: an extension, a ring group, an outside number.",
    )


class CommandOut(BaseModel):
    call_id: str
    accepted: bool = True
    detail: str


class DtmfIn(BaseModel):
    digits: str = Field(min_length=1, max_length=32, pattern=r"^[0-9*#A-D]+$", description="Digits to send, in order.")
    leg: Literal["caller", "callee"] = Field(
        default="callee", description="Whose phone receives them: the caller's or the answered callee's."
    )


class OriginateIn(BaseModel):
    extension_id: str = Field(min_length=1, max_length=40, description="The extension whose phones ring first.")
    destination: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^\+?[0-9*#]+$",
        description="What that extension would dial: an extension, a ring group, an outside number.",
    )
    ring_seconds: int = Field(default=30, ge=5, le=120, description="How long the extension's phones ring.")


class HoldIn(BaseModel):
    leg: Literal["caller", "callee"] = Field(default="caller", description="The side to put on hold or take off.")
