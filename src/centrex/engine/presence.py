"""BLF for phones: SUBSCRIBE/NOTIFY with the dialog event package (RFC 6665, RFC 4235), so a busy-lamp key shows
whether an extension of the same tenant is idle, ringing or on a call (docs/live.md "Busy lamps").

- ``SUBSCRIBE sip:<extension number>@<tenant domain>`` with ``Event: dialog``: the subscriber is an extension of the
  tenant (proxy digest, 407, like an INVITE); the watched number must be an extension of the same tenant (404
  otherwise); another event package → 489 with ``Allow-Events: dialog``. ``Expires``: default and maximum 3600,
  below 60 (not 0) → 423 with ``Min-Expires``. 200 (with our To tag and Contact), then at once a NOTIFY with the
  full state (RFC 6665 §4.2.1); a refresh inside the dialog gets 200 and a NOTIFY; ``Expires: 0`` ends the
  subscription with a final NOTIFY (``Subscription-State: terminated``).
- State changes: the watched extensions' activity (``centrex.engine.live.extension_activity`` over the B2BUA's
  calls) is compared every ``POLL_SECONDS``; a change sends a NOTIFY (a new ``version``) to every subscriber of that
  extension. Idle → no ``<dialog>``; ringing → ``early``; on a call → ``confirmed``.
- Subscriptions live in memory (phones re-subscribe after a restart, as after any server restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

from centrex.callflow.cache import CallFlowCache
from centrex.engine import live
from centrex.engine.b2bua.call import new_tag
from centrex.engine.b2bua.core import B2bua
from centrex.engine.registrar import Registrar
from centrex.sip.dialog import Dialog, DialogError
from centrex.sip.message import ParseError, Request, Response, SipUri, parse_addresses, parse_uri
from centrex.sip.message.fields import parse_delta_seconds
from centrex.sip.transaction._fields import tag
from centrex.sip.transport import Source
from centrex.sip.transport.base import reply

log = logging.getLogger("centrex.engine.presence")
POLL_SECONDS = 0.5
MAX_EXPIRES = 3600
MIN_EXPIRES = 60
PACKAGE = "dialog"


@dataclass(eq=False)
class Subscription:
    dialog: Dialog
    dest: Source
    tenant_id: str
    extension_id: str
    entity: str  # sip:<number>@<domain>
    expires_at: float
    version: int = 0
    state: str = "idle"
    key: tuple[str, str] = ("", "")


@dataclass
class Presence:
    registrar: Registrar
    b2bua: B2bua
    callflow: CallFlowCache
    subscriptions: dict[tuple[str, str], Subscription] = field(default_factory=dict)  # (Call-ID, our tag) → sub
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # ---------------------------------------------------------------------------------------------- SUBSCRIBE
    async def handle(self, request: Request, source: Source) -> Response | None:
        """The answer to a SUBSCRIBE (None: the guard says not to answer); the NOTIFY follows it."""
        event = (request.headers.get("Event") or "").split(";", 1)[0].strip().lower()
        if event != PACKAGE:
            response = reply(request, 489, "Bad Event")
            response.headers.add("Allow-Events", PACKAGE)
            return response
        raw = request.headers.get("Expires")
        try:
            expires = MAX_EXPIRES if raw is None else min(MAX_EXPIRES, parse_delta_seconds(raw))
        except (ParseError, ValueError):
            return reply(request, 400, "Bad Request (Expires)")
        if 0 < expires < MIN_EXPIRES:
            response = reply(request, 423, "Interval Too Brief")
            response.headers.add("Min-Expires", str(MIN_EXPIRES))
            return response
        to_tag = tag(request.headers.get("To"))
        if to_tag:
            return self._refresh(request, source, to_tag, expires)
        try:
            subscriber = parse_addresses(request.headers.get_all("From"))[0].parsed_uri()
            watched = parse_uri(request.uri)
        except (ParseError, IndexError):
            return reply(request, 400, "Bad Request")
        if not isinstance(subscriber, SipUri) or not isinstance(watched, SipUri):
            return reply(request, 416, "Unsupported URI Scheme")
        result = await self.registrar.authenticate(request, source, subscriber.host, subscriber.user or "")
        if result is None or isinstance(result, Response):
            return result
        if result.suspended or not result.enabled:
            return reply(request, 403, "Forbidden")
        snap = await self.callflow.snapshot(result.tenant_id)
        planned = snap.dial_plan.get(watched.user or "") if snap is not None else None
        if snap is None or planned is None or planned[0] != "extension":
            return reply(request, 404, "Not Found")
        response = reply(request, 200, "OK")
        response.headers.set("To", f"{request.headers.get('To') or ''};tag={new_tag()}")
        response.headers.add("Contact", self.b2bua.wire.contact(source))
        response.headers.add("Expires", str(expires))
        try:
            dialog = Dialog.uas(request, response)
        except DialogError:
            return reply(request, 400, "Bad Request")
        entity = f"sip:{watched.user}@{result.domain}"
        sub = Subscription(dialog, source, result.tenant_id, planned[1], entity, time.monotonic() + expires)
        sub.key = (dialog.call_id, dialog.local_tag)
        sub.state = self._state_of(sub)
        if expires > 0:
            self.subscriptions[sub.key] = sub
        asyncio.get_running_loop().call_soon(self._notify, sub, expires == 0)
        return response

    def _refresh(self, request: Request, source: Source, to_tag: str, expires: int) -> Response:
        sub = self.subscriptions.get((request.call_id or "", to_tag))
        if sub is None:
            return reply(request, 481, "Subscription Does Not Exist")
        status = sub.dialog.receive_request(request)
        if status is not None:
            return reply(request, status, "Error")
        sub.dest = source
        sub.expires_at = time.monotonic() + expires
        if expires == 0:
            self.subscriptions.pop(sub.key, None)
        response = reply(request, 200, "OK")
        response.headers.add("Contact", self.b2bua.wire.contact(source))
        response.headers.add("Expires", str(expires))
        asyncio.get_running_loop().call_soon(self._notify, sub, expires == 0)
        return response

    # ---------------------------------------------------------------------------------------------- NOTIFY
    def _state_of(self, sub: Subscription) -> str:
        calls = live.tenant_calls(self.b2bua.calls, sub.tenant_id)
        return live.extension_activity(calls).get(sub.extension_id, "idle")

    def _notify(self, sub: Subscription, final: bool = False) -> None:
        if sub.dialog.terminated:
            return
        sub.version += 1
        remaining = max(0, int(sub.expires_at - time.monotonic()))
        state = "terminated;reason=timeout" if final or remaining == 0 else f"active;expires={remaining}"
        body = dialog_info(sub.entity, sub.version, sub.state, sub.key[0]).encode()
        try:
            notify = sub.dialog.create_request(
                "NOTIFY",
                via=self.b2bua.wire.via(sub.dest),
                headers=[("Event", PACKAGE), ("Subscription-State", state)],
                body=body,
                content_type="application/dialog-info+xml",
            )
        except DialogError:
            return
        if final or remaining == 0:
            sub.dialog.terminate()
            self.subscriptions.pop(sub.key, None)
        self.b2bua.send_request(notify, sub.dest, lambda response: self._answered(sub, response))

    def _answered(self, sub: Subscription, response: Response | None) -> None:
        """A subscriber that does not answer, or answers 481 (it forgot the subscription), is dropped."""
        if response is None or response.status in (404, 405, 481, 489, 501):
            self.subscriptions.pop(sub.key, None)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                self.tick(time.monotonic())
            except Exception:
                log.exception("presence update failed")

    def tick(self, now: float) -> None:
        """Send a NOTIFY to every subscription whose extension changed state, and end the expired ones."""
        by_tenant: dict[str, dict[str, str]] = {}
        for sub in list(self.subscriptions.values()):
            if sub.expires_at <= now:
                self._notify(sub, final=True)
                continue
            if sub.tenant_id not in by_tenant:
                calls = live.tenant_calls(self.b2bua.calls, sub.tenant_id)
                by_tenant[sub.tenant_id] = live.extension_activity(calls)
            state = by_tenant[sub.tenant_id].get(sub.extension_id, "idle")
            if state != sub.state:
                sub.state = state
                self._notify(sub)


def dialog_info(entity: str, version: int, state: str, dialog_id: str) -> str:
    """The ``application/dialog-info+xml`` body (RFC 4235) for an extension's state: no dialog when idle, an
    ``early`` one while it rings, a ``confirmed`` one on a call. ``version`` counts from 0 per subscription."""
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="{version - 1}" state="full" '
        f"entity={quoteattr(entity)}"
    )
    if state not in ("ringing", "in_use"):
        return head + "/>\n"
    sip_state = "early" if state == "ringing" else "confirmed"
    direction = ' direction="recipient"' if state == "ringing" else ""
    dialog = f"<dialog id={quoteattr(dialog_id[:60] or 'd')}{direction}><state>{sip_state}</state></dialog>"
    return f"{head}>{dialog}</dialog-info>\n"
