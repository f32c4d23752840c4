"""One call's state: the A leg (the caller's INVITE we answer) and the B branches (the INVITEs we send: one per
binding, group member or trunk tried; the one that answers is the B leg), and the messages built from it."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from centrex.engine.b2bua.plan import Plan, Stage, Target
from centrex.media.anchor import MediaSession
from centrex.sip.dialog import Dialog
from centrex.sip.message import Headers, Request, Response
from centrex.sip.transaction import InviteServerTransaction
from centrex.sip.transport import Source
from centrex.sip.transport.base import reply


def new_tag() -> str:
    return secrets.token_hex(8)


@dataclass(eq=False)
class Branch:
    """One INVITE of the B side (its own Call-ID): to an extension's binding or to a trunk."""

    target: Target
    dest: Source
    invite: Request
    index: int  # 1, 2 … in the order the branches were placed (CDR leg ids)
    dialog: Dialog | None = None
    ack: Request | None = None
    cancelled: bool = False
    final: int | None = None  # the final status it got (None: still ringing)
    auth_tried: bool = False
    ringing: bool = False

    @property
    def call_id(self) -> str:
        return self.invite.call_id or ""


@dataclass(eq=False)
class Call:
    a_invite: Request
    a_source: Source
    a_tx: InviteServerTransaction | None  # None for a call the engine originated (its A side is our UAC dialog)
    a_tag: str = field(default_factory=new_tag)
    a_dialog: Dialog | None = None
    a_200: Response | None = None
    a_acked: bool = False
    # the B side
    branches: list[Branch] = field(default_factory=list)
    b: Branch | None = None  # the branch that answered
    b_ack_pending: bool = False  # the A INVITE had no offer: B is ACKed with the answer in A's ACK
    plan: Plan = field(default_factory=Plan)
    stage: Stage | None = None
    stage_branches: list[Branch] = field(default_factory=list)
    on_fail: Any = None  # what the current step does when its plan fails: (outcome → destination) or None
    hops: int = 0
    early_sdp_from: Branch | None = None  # the branch whose early media the caller hears
    # who and what
    tenant_id: str | None = None
    domain: str = ""
    direction: str = "internal"
    caller_number: str = ""
    caller_name: str | None = None
    caller_extension_id: str | None = None
    caller_id: str | None = None  # the number presented on trunks (outbound routes, extension's external ID)
    callee_label: str = ""
    did: str | None = None
    trunk_id: str | None = None  # inbound: the trunk it came from
    offers: dict[str, bytes] = field(default_factory=dict)  # the caller's SDP as sent towards an address
    # what happened
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    answered_at: datetime | None = None
    answered: bool = False
    transferring: bool = False  # answered, its B side being replaced (blind transfer): branches ring again
    originated: bool = False  # click-to-call: the engine rang the A side first (docs/live.md "Originate")
    ended: bool = False  # a final answer went to A (unanswered) or a BYE ended the call
    cdr_id: str | None = None
    cdr_task: asyncio.Task[None] | None = None
    ring_timer: asyncio.TimerHandle | None = None
    media: MediaSession | None = None  # the anchor's session for the call's RTP (None: SDP passed through)
    media_from: float = 0.0  # monotonic time of the answer: the media timeout counts from here at the earliest
    retransmit: asyncio.TimerHandle | None = None
    session_timer: asyncio.TimerHandle | None = None
    held: bool = False  # the media is on hold (the last offer in the call said sendonly/inactive)
    a_sdp: bytes = b""  # the last SDP the engine sent to the A side (200, or the ACK of an originated call)
    held_legs: set[str] = field(default_factory=set)  # legs the API put on hold
    session_interval: int | None = None  # RFC 4028 interval agreed for the call (seconds)
    work: asyncio.Task[None] | None = None  # the call's latest serialised handler (responses, relayed requests)

    @property
    def a_call_id(self) -> str:
        return self.a_invite.call_id or ""

    @property
    def settled(self) -> bool:
        """Answered and not being transferred: no more branches are placed or answered for it."""
        return self.answered and not self.transferring

    def pending(self) -> list[Branch]:
        """Branches of the current stage still without a final response."""
        return [b for b in self.stage_branches if b.final is None and not b.cancelled]

    def stop_timers(self) -> None:
        for handle in (self.ring_timer, self.retransmit, self.session_timer):
            if handle is not None:
                handle.cancel()
        self.ring_timer = self.retransmit = self.session_timer = None


def supports_timer(message: Request | Response) -> bool:
    """Whether a message says ``Supported: timer`` (or ``Require: timer``), RFC 4028."""
    values = [*message.headers.get_all("Supported"), *message.headers.get_all("Require")]
    return any(item.strip().lower() == "timer" for value in values for item in value.split(","))


def session_interval(message: Request | Response) -> int | None:
    """The ``Session-Expires`` delta-seconds of a message (compact form ``x``), None when absent or malformed."""
    value = message.headers.get("Session-Expires")
    if not value:
        return None
    head = value.split(";", 1)[0].strip()
    return int(head) if head.isdigit() and 0 < int(head) < 2**31 else None


def a_response(call: Call, status: int, reason: str, contact: str | None = None) -> Response:
    """A response on the A leg, with our To tag (the same for every response of the call)."""
    response = reply(call.a_invite, status, reason)
    to = call.a_invite.headers.get("To") or ""
    response.headers.set("To", f"{to};tag={call.a_tag}")
    if contact is not None and status > 100:
        response.headers.add("Contact", contact)
    return response


def copy_body(source: Request | Response, target: Request | Response, body: bytes | None = None) -> None:
    """SDP (or any body) of ``source`` with its Content-Type; ``body`` replaces the content (a rewritten SDP)."""
    content = source.body if body is None else body
    if content:
        target.body = content
        target.headers.set("Content-Type", source.headers.get("Content-Type") or "application/sdp")
        target.headers.set("Content-Length", str(len(content)))


def b_invite(
    a_invite: Request,
    *,
    request_uri: str,
    via: str,
    contact: str,
    caller: str,
    caller_name: str | None,
    caller_domain: str,
    callee: str,
    callee_domain: str,
    call_id: str,
    body: bytes | None = None,
    asserted: bool = False,
) -> Request:
    """The INVITE of a B branch: new Call-ID, our Via and Contact, From the presented caller, the caller's body
    (``body``: the caller's SDP rewritten to the media relay). Session-timer headers of the caller are passed on;
    ``asserted`` adds a P-Asserted-Identity equal to From (trunks)."""
    headers = Headers()
    headers.add("Via", via)
    try:
        hops = int(a_invite.headers.get("Max-Forwards") or "70")
    except ValueError:
        hops = 70
    headers.add("Max-Forwards", str(max(1, min(70, hops - 1))))
    name = (caller_name or "").replace("\\", "").replace('"', "")[:60]
    display = f'"{name}" ' if name else ""
    headers.add("From", f"{display}<sip:{caller}@{caller_domain}>;tag={new_tag()}")
    headers.add("To", f"<sip:{callee}@{callee_domain}>")
    headers.add("Call-ID", call_id)
    headers.add("CSeq", "1 INVITE")
    headers.add("Contact", contact)
    if asserted:  # towards trunks: the identity the carrier shows and bills (RFC 3325), same as From
        headers.add("P-Asserted-Identity", f"{display}<sip:{caller}@{caller_domain}>")
    headers.add("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO, REFER")
    headers.add("User-Agent", "Centrex")
    if supports_timer(a_invite):  # RFC 4028 end to end: the phones refresh, the engine relays and watches
        headers.add("Supported", "timer")
        for name_ in ("Session-Expires", "Min-SE"):
            value = a_invite.headers.get(name_)
            if value:
                headers.add(name_, value)
    request = Request(headers=headers, method="INVITE", uri=request_uri)
    copy_body(a_invite, request, body)
    if not request.body:
        request.headers.add("Content-Length", "0")
    return request
