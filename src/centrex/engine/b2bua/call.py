"""One call's state across its two legs (A: the caller's INVITE we answer; B: the INVITE we send to the callee),
and the messages built from it."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field

from centrex.media.rtp import Session
from centrex.sip.dialog import Dialog
from centrex.sip.message import Headers, Request, Response
from centrex.sip.transaction import ClientTransaction, InviteServerTransaction
from centrex.sip.transport import Source
from centrex.sip.transport.base import reply


def new_tag() -> str:
    return secrets.token_hex(8)


@dataclass(eq=False)
class Call:
    a_invite: Request
    a_source: Source
    a_tx: InviteServerTransaction
    a_tag: str = field(default_factory=new_tag)
    a_dialog: Dialog | None = None
    a_200: Response | None = None
    a_acked: bool = False
    # the callee's leg
    b_invite: Request | None = None
    b_dest: Source | None = None
    b_tx: ClientTransaction | None = None
    b_dialog: Dialog | None = None
    b_ack: Request | None = None
    b_ack_pending: bool = False  # the A INVITE had no offer: B is ACKed with the answer in A's ACK
    b_cancelled: bool = False
    # what happened
    tenant_id: str | None = None
    domain: str = ""
    answered: bool = False
    ended: bool = False  # a final answer went to A (unanswered) or a BYE ended the call
    cdr_id: str | None = None
    cdr_task: asyncio.Task[None] | None = None
    ring_timer: asyncio.TimerHandle | None = None
    media: Session | None = None  # the relay session anchoring the call's RTP (None: SDP passed through)
    retransmit: asyncio.TimerHandle | None = None

    @property
    def a_call_id(self) -> str:
        return self.a_invite.call_id or ""

    def stop_timers(self) -> None:
        for handle in (self.ring_timer, self.retransmit):
            if handle is not None:
                handle.cancel()
        self.ring_timer = self.retransmit = None


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
        target.headers.add("Content-Type", source.headers.get("Content-Type") or "application/sdp")
        target.headers.set("Content-Length", str(len(content)))


def b_invite(
    a_invite: Request,
    *,
    request_uri: str,
    via: str,
    contact: str,
    caller: str,
    caller_name: str | None,
    callee: str,
    domain: str,
    call_id: str,
    body: bytes | None = None,
) -> Request:
    """The INVITE of the B leg: new Call-ID, our Via and Contact, From the calling extension, the caller's body
    (``body``: the caller's SDP rewritten to the media relay)."""
    headers = Headers()
    headers.add("Via", via)
    try:
        hops = int(a_invite.headers.get("Max-Forwards") or "70")
    except ValueError:
        hops = 70
    headers.add("Max-Forwards", str(max(1, min(70, hops - 1))))
    name = (caller_name or "").replace("\\", "").replace('"', "")[:60]
    display = f'"{name}" ' if name else ""
    headers.add("From", f"{display}<sip:{caller}@{domain}>;tag={new_tag()}")
    headers.add("To", f"<sip:{callee}@{domain}>")
    headers.add("Call-ID", call_id)
    headers.add("CSeq", "1 INVITE")
    headers.add("Contact", contact)
    headers.add("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS")
    headers.add("User-Agent", "Centrex")
    request = Request(headers=headers, method="INVITE", uri=request_uri)
    copy_body(a_invite, request, body)
    if not request.body:
        request.headers.add("Content-Length", "0")
    return request
