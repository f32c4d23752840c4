"""Dialogs (RFC 3261 §12): the peer-to-peer state an INVITE sets up — id (Call-ID, local tag, remote tag), local and
remote CSeq, route set, remote target, secure flag — and what follows from it: building in-dialog requests (BYE,
re-INVITE, the ACK for a 2xx) and checking in-dialog requests received.

``Dialog.uac(invite, response)`` makes the caller's side from a 2xx or a 101–199 with a To tag (§12.1.2);
``Dialog.uas(invite, response)`` makes the callee's side from the response it sends (§12.1.1). Neither touches the
network: a request built here still goes through a client transaction (the ACK for a 2xx goes straight to the
transport, §13.2.2.4).

Errors: ``DialogError`` (a message that cannot make or use a dialog); ``status`` is the response to answer with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from centrex.sip.message.headers import Headers, split_list
from centrex.sip.message.model import Request, Response
from centrex.sip.transaction._fields import addr_uri, cseq, tag, uri_params

# Requests that may change the remote target (RFC 3261 §12.2, RFC 3311 UPDATE, RFC 6665 SUBSCRIBE/NOTIFY, RFC 3515).
TARGET_REFRESH = frozenset({"INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"})
MAX_CSEQ = 2**31 - 1  # §8.1.1.5


class DialogError(ValueError):
    """A message that cannot create or use a dialog. ``status`` is what a UAS answers (400 unless said)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class DialogState(StrEnum):
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


@dataclass(frozen=True, slots=True)
class DialogId:
    """§12: Call-ID, local tag, remote tag (an RFC 2543 peer may leave its tag empty)."""

    call_id: str
    local_tag: str
    remote_tag: str

    @classmethod
    def of_request(cls, request: Request) -> DialogId:
        """The id, from the UAS point of view, of the dialog an incoming request belongs to (To tag is ours)."""
        return cls(request.headers.get("Call-ID") or "", tag(request.headers.get("To")) or "", _from_tag(request))

    @classmethod
    def of_response(cls, response: Response) -> DialogId:
        """The id, from the UAC point of view, of the dialog a response belongs to (From tag is ours)."""
        return cls(response.headers.get("Call-ID") or "", _from_tag(response), tag(response.headers.get("To")) or "")


def _from_tag(message: Request | Response) -> str:
    return tag(message.headers.get("From")) or ""


def _values(headers: Headers, name: str) -> list[str]:
    return [value for raw in headers.get_all(name) for value in split_list(raw)]


def _contact_uri(message: Request | Response) -> str | None:
    contacts = _values(message.headers, "Contact")
    if not contacts or contacts[0].strip() == "*":
        return None
    uri = addr_uri(contacts[0])
    return uri or None


def _is_sips(uri: str) -> bool:
    return uri[:5].lower() == "sips:"


def _cseq_of(message: Request | Response) -> tuple[int, str]:
    numbered = cseq(message.headers)
    if numbered is None:
        raise DialogError("missing or malformed CSeq")
    return numbered


def _strip_for_request_uri(uri: str) -> str:
    """§12.2.1.1 strict routing: a route URI put in the Request-URI loses what a Request-URI may not carry
    (§19.1.1: the ``method`` parameter and the headers component)."""
    base = uri.partition("?")[0]
    head, *params = base.split(";")
    kept = [p for p in params if p.split("=", 1)[0].strip().lower() != "method"]
    return ";".join([head, *kept])


@dataclass(slots=True)
class Dialog:
    """One dialog. ``local_uri``/``remote_uri`` are the full From/To values (with the tags) used in requests."""

    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str
    remote_uri: str
    remote_target: str
    route_set: list[str] = field(default_factory=list)
    local_seq: int | None = None
    remote_seq: int | None = None
    local_target: str | None = None
    secure: bool = False
    is_uac: bool = True
    state: DialogState = DialogState.CONFIRMED

    # -- creation --------------------------------------------------------------------------------------------------

    @classmethod
    def uac(cls, request: Request, response: Response, *, over_tls: bool = False) -> Dialog:
        """§12.1.2: the caller's dialog from a 2xx, or an early one from a 101–199 carrying a To tag."""
        remote_tag = tag(response.headers.get("To"))
        if not (101 <= response.status < 300) or remote_tag is None:
            raise DialogError("only a 2xx or a 101-199 with a To tag makes a dialog")
        number, _ = _cseq_of(request)
        local = request.headers.get("From") or ""
        return cls(
            call_id=request.headers.get("Call-ID") or "",
            local_tag=tag(local) or "",
            remote_tag=remote_tag,
            local_uri=local,
            remote_uri=response.headers.get("To") or "",
            # §12.1.2: the Contact of the response; a peer that omits it is reached at the Request-URI.
            remote_target=_contact_uri(response) or request.uri,
            route_set=list(reversed(_values(response.headers, "Record-Route"))),
            local_seq=number,
            remote_seq=None,
            local_target=_contact_uri(request),
            secure=over_tls and _is_sips(request.uri),
            is_uac=True,
            state=DialogState.CONFIRMED if response.status >= 200 else DialogState.EARLY,
        )

    @classmethod
    def uas(
        cls, request: Request, response: Response, *, over_tls: bool = False, initial_cseq: int | None = None
    ) -> Dialog:
        """§12.1.1: the callee's dialog from the request and the 2xx (or 101–199) it answers, which carries our tag.
        ``initial_cseq`` is the local sequence number to start from (§12.2.1.1 lets us choose; default 1)."""
        local_tag = tag(response.headers.get("To"))
        if not (101 <= response.status < 300) or local_tag is None:
            raise DialogError("only a 2xx or a 101-199 with a To tag makes a dialog")
        number, _ = _cseq_of(request)
        remote = request.headers.get("From") or ""
        return cls(
            call_id=request.headers.get("Call-ID") or "",
            local_tag=local_tag,
            remote_tag=tag(remote) or "",
            local_uri=response.headers.get("To") or "",
            remote_uri=remote,
            remote_target=_contact_uri(request) or addr_uri(remote),
            route_set=_values(request.headers, "Record-Route"),
            local_seq=initial_cseq,
            remote_seq=number,
            local_target=_contact_uri(response),
            secure=over_tls and _is_sips(request.uri),
            is_uac=False,
            state=DialogState.CONFIRMED if response.status >= 200 else DialogState.EARLY,
        )

    @property
    def id(self) -> DialogId:
        return DialogId(self.call_id, self.local_tag, self.remote_tag)

    @property
    def terminated(self) -> bool:
        return self.state is DialogState.TERMINATED

    def terminate(self) -> None:
        self.state = DialogState.TERMINATED

    # -- responses and requests received ---------------------------------------------------------------------------

    def receive_response(self, response: Response) -> None:
        """A response to a request of this dialog (UAC side, or a UAS that sent a request in the dialog).

        - 2xx to INVITE on an early dialog: confirmed, route set recomputed from the 2xx (§13.2.2.4);
        - 2xx to a target-refresh request: the remote target follows the Contact (§12.2.1.2);
        - non-2xx final to the INVITE of an early dialog ends it (§12.3); 481 and 408 end any dialog (§12.2.1.2).
        """
        if self.terminated:
            return
        _, method = _cseq_of(response)
        status = response.status
        if status in (408, 481):
            self.terminate()
        elif 200 <= status < 300:
            if method == "INVITE" and self.state is DialogState.EARLY:
                self.state = DialogState.CONFIRMED
                if self.is_uac:
                    self.route_set = list(reversed(_values(response.headers, "Record-Route")))
            if method in TARGET_REFRESH:
                self.remote_target = _contact_uri(response) or self.remote_target
        elif status >= 300 and method == "INVITE" and self.state is DialogState.EARLY:
            self.terminate()
        elif 101 <= status < 200 and method == "INVITE" and self.state is DialogState.EARLY:
            self.remote_target = _contact_uri(response) or self.remote_target

    def receive_request(self, request: Request) -> int | None:
        """Check an in-dialog request (§12.2.2). Returns the status to reject it with, or ``None`` when it may go on
        (the remote sequence number and, for a target refresh, the remote target are then updated)."""
        if self.terminated:
            return 481
        numbered = cseq(request.headers)
        if numbered is None or numbered[1] != request.method:
            return 400
        number = numbered[0]
        if request.method in ("ACK", "CANCEL"):
            return None  # they reuse the CSeq of the request they refer to and are never answered on their own
        if self.remote_seq is not None and number < self.remote_seq:
            return 500  # §12.2.2: out of order
        self.remote_seq = number
        if request.method in TARGET_REFRESH:
            self.remote_target = _contact_uri(request) or self.remote_target
        if request.method == "BYE":
            self.terminate()
        return None

    def confirm(self) -> None:
        """The UAS sent its 2xx: an early dialog becomes confirmed (§12.1.1)."""
        if self.state is DialogState.EARLY:
            self.state = DialogState.CONFIRMED

    # -- requests sent ---------------------------------------------------------------------------------------------

    def next_cseq(self) -> int:
        """Take the next local sequence number (§12.2.1.1: one more than the last; 1 when none was used yet)."""
        number = 1 if self.local_seq is None else self.local_seq + 1
        if number > MAX_CSEQ:
            raise DialogError("local CSeq exhausted", 500)
        self.local_seq = number
        return number

    def create_request(
        self,
        method: str,
        *,
        via: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        """A request within the dialog (§12.2.1.1): Request-URI and Route from the route set and remote target,
        From/To/Call-ID of the dialog, the next CSeq, our Contact on target-refresh requests. ``via`` (the full
        value, with its branch) is added when given; the transport layer may add it instead."""
        if method in ("ACK", "CANCEL"):
            raise DialogError(f"{method} is not built with create_request (see create_ack, build_cancel)")
        if self.terminated:
            raise DialogError("the dialog is terminated", 481)
        return self._build(method, self.next_cseq(), via, headers, body, content_type)

    def create_ack(
        self,
        invite_cseq: int,
        *,
        via: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        """The ACK for a 2xx to INVITE (§13.2.2.4): built like any in-dialog request but with the CSeq number of the
        INVITE it acknowledges; the local CSeq does not move."""
        return self._build("ACK", invite_cseq, via, headers, body, content_type)

    def _target_and_routes(self) -> tuple[str, list[str]]:
        """§12.2.1.1: loose routing when the first route has ``lr``; otherwise the RFC 2543 strict-routing form."""
        if not self.route_set:
            return self.remote_target, []
        first = addr_uri(self.route_set[0])
        if "lr" in uri_params(first):
            return self.remote_target, list(self.route_set)
        return _strip_for_request_uri(first), [*self.route_set[1:], f"<{self.remote_target}>"]

    def _build(
        self,
        method: str,
        number: int,
        via: str | None,
        extra: Iterable[tuple[str, str]],
        body: bytes,
        content_type: str | None,
    ) -> Request:
        uri, routes = self._target_and_routes()
        headers = Headers()
        if via is not None:
            headers.add("Via", via)
        for route in routes:
            headers.add("Route", route)
        headers.add("Max-Forwards", "70")
        headers.add("From", self.local_uri)
        headers.add("To", self.remote_uri)
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{number} {method}")
        if method in TARGET_REFRESH and self.local_target is not None:
            headers.add("Contact", f"<{self.local_target}>")
        for name, value in extra:
            headers.add(name, value)
        if content_type is not None:
            headers.add("Content-Type", content_type)
        headers.add("Content-Length", str(len(body)))
        return Request(headers=headers, body=body, method=method, uri=uri)
