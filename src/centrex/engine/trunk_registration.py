"""Registration of the engine with upstream SIP trunks (docs/sip.md "Trunk registration").

Every enabled trunk with ``kind = registration`` and ``register`` on (a tenant's own or a shared platform/reseller
trunk) gets a line that keeps a binding at the carrier's ``host:port``:

- REGISTER ``sip:<from_domain or host>``, To/From ``sip:<username>@<from_domain or host>``, Contact
  ``<sip:<username>@<our address>:<our port>>``, ``Expires: registration_expiry``; a 401/407 is answered once per
  attempt with digest (``centrex.sip.auth_client``; digest user ``auth_username`` or ``username``), again only when
  the server says the nonce was ``stale``; 423 → the carrier's Min-Expires is used.
- A 2xx: the granted expiry is our Contact's ``expires`` in the answer, else its Expires, else what we asked; the
  line refreshes at 80 % of it. Any failure (403, 404, 5xx, a timeout, a challenge we cannot answer): retried with
  capped exponential backoff (``RETRY_MIN`` … ``RETRY_MAX`` seconds).
- Trunk changes: a commit in this process that touches ``trunks`` wakes the manager at once (``db.commit_hooks``,
  as the call-flow cache); changes by other processes are read every ``poll_interval`` seconds. A changed trunk is
  un-registered and registered again with its new settings; a disabled or deleted one (or ``register`` turned off)
  is un-registered (``Expires: 0``), as every line is at stop.
- State per trunk (``RegistrationState``: unregistered/registering/registered/failed, last status and reason,
  expires_at, last error) lives in memory; ``for_database(db)`` finds the manager running on a database, which is
  how the API's ``GET …/trunks/{id}/registration`` reads it.

Only UDP is sent on for now (the engine opens no outbound TCP/TLS connections yet): a TCP/TLS trunk is ``failed``
with that reason. Requests go through the B2BUA's client transactions (``send_request``), so retransmissions and
Timer F apply."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import secrets
import socket
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from sqlalchemy import select

from centrex.db.engine import Database
from centrex.db.models.routing import Trunk
from centrex.db.tracking import Changes
from centrex.security.secrets import default_box
from centrex.sip.auth import AuthError, Challenge
from centrex.sip.auth_client import challenge_header, with_credentials
from centrex.sip.message import ParseError, Request, Response, SipUri, parse_addresses, parse_uri
from centrex.sip.message.fields import parse_delta_seconds
from centrex.sip.transport import Source

log = logging.getLogger("centrex.engine.trunks")
REFRESH_SHARE = 0.8  # refresh at 80 % of the granted expiry
RETRY_MIN = 5.0
RETRY_MAX = 300.0
REQUEST_TIMEOUT = 40.0  # beyond Timer F (32 s): a request whose transaction never reports back
STOP_TIMEOUT = 3.0  # how long stop waits for the answers to the un-REGISTERs
SUPPORTED_TRANSPORTS = frozenset({"udp"})
MIN_REFRESH = 5.0

StateName = Literal["unregistered", "registering", "registered", "failed"]
ResponseHandler = Callable[[Response | None], None]
Resolver = Callable[[str, int], Awaitable[str]]


class Sender(Protocol):
    def send_request(self, request: Request, dest: Source, handler: ResponseHandler | None = None) -> None: ...


class Addresses(Protocol):
    def via(self, dest: Source) -> str: ...

    def contact(self, dest: Source) -> str: ...


@dataclass(frozen=True, slots=True)
class TrunkLine:
    """What a trunk's registration depends on (a change of any of these re-registers)."""

    trunk_id: str
    tenant_id: str
    name: str
    host: str
    port: int
    transport: str
    username: str
    auth_username: str
    password_enc: str | None
    expiry: int
    domain: str  # from_domain or host

    @classmethod
    def of(cls, trunk: Trunk) -> TrunkLine:
        username = trunk.username or ""
        return cls(
            trunk_id=trunk.id,
            tenant_id=trunk.tenant_id,
            name=trunk.name,
            host=trunk.host,
            port=int(trunk.port or 5060),
            transport=(trunk.transport or "udp").lower(),
            username=username,
            auth_username=trunk.auth_username or username,
            password_enc=trunk.password_enc,
            expiry=int(trunk.registration_expiry or 3600),
            domain=trunk.from_domain or trunk.host,
        )

    @property
    def request_uri(self) -> str:
        return f"sip:{self.domain}"

    @property
    def aor(self) -> str:
        return f"sip:{self.username}@{self.domain}"


@dataclass(slots=True)
class RegistrationState:
    """A trunk's registration as the engine sees it (the API shows it)."""

    trunk_id: str
    state: StateName = "unregistered"
    status_code: int | None = None
    reason: str | None = None
    expires_at: datetime | None = None
    last_error: str | None = None
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    next_attempt_at: datetime | None = None

    def set(self, state: StateName, **changes: object) -> None:
        self.state = state
        for name, value in changes.items():
            setattr(self, name, value)
        self.updated_at = datetime.now(UTC)


class RegistrationFailed(Exception):
    def __init__(self, message: str, status: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


async def resolve_host(host: str, port: int) -> str:
    """An IPv4 address for a trunk host (A record; no NAPTR/SRV yet)."""
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(host))
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, family=socket.AF_INET, type=socket.SOCK_DGRAM)
    if not infos:
        raise OSError(f"{host} has no IPv4 address")
    return str(infos[0][4][0])


def granted_expiry(response: Response, contact_uri: str, asked: int) -> int:
    """The expiry the registrar granted to our contact (§10.2.4): its Contact's ``expires``, else Expires."""
    ours = _uri_key(contact_uri)
    try:
        contacts = parse_addresses(response.headers.get_all("Contact"))
    except ParseError:
        contacts = []
    for contact in contacts:
        try:
            if _uri_key(contact.uri) == ours and contact.expires is not None:
                return int(contact.expires)
        except (ParseError, ValueError):
            continue
    header = response.headers.get("Expires")
    if header is not None:
        with contextlib.suppress(ParseError):
            return parse_delta_seconds(header)
    return asked


def _uri_key(uri: str) -> tuple[str, str, int | None] | str:
    try:
        parsed = parse_uri(uri)
    except ParseError:
        return uri
    if not isinstance(parsed, SipUri):
        return uri
    return (parsed.user or "", parsed.host.lower(), parsed.port)


class Registration:
    """One trunk's registration: a task that registers, refreshes and retries until cancelled."""

    def __init__(self, line: TrunkLine, sender: Sender, addresses: Addresses, resolve: Resolver) -> None:
        self.line = line
        self.sender = sender
        self.addresses = addresses
        self.resolve = resolve
        self.state = RegistrationState(line.trunk_id)
        self.call_id = f"{secrets.token_hex(12)}@centrex"
        self.from_tag = secrets.token_hex(6)
        self.cseq = 0
        self.dest: Source | None = None
        self.contact_uri: str | None = None
        self.registered = False  # a binding may exist at the carrier (un-REGISTER it on the way out)
        self.task: asyncio.Task[None] | None = None
        self.after: asyncio.Future[None] | None = None  # the previous line's un-REGISTER, to finish first

    # ------------------------------------------------------------------------------------------------ loop
    async def run(self) -> None:
        if self.after is not None:  # the same contact's un-REGISTER must not overtake (and undo) this registration
            await asyncio.wait([self.after])
            self.after = None
        backoff = RETRY_MIN
        while True:
            try:
                granted = await self.register(self.line.expiry)
            except RegistrationFailed as exc:
                delay = backoff
                backoff = min(backoff * 2, RETRY_MAX)
                if exc.status is not None:  # refused: no binding at the carrier (a timeout may have left one)
                    self.registered = False
                self.state.set(
                    "failed",
                    status_code=exc.status,
                    reason=exc.reason,
                    last_error=str(exc),
                    expires_at=None,
                    next_attempt_at=datetime.now(UTC) + timedelta(seconds=delay),
                )
                log.warning(
                    "trunk %s (%s): registration failed: %s; retry in %.0fs",
                    self.line.name,
                    self.line.trunk_id,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            backoff = RETRY_MIN
            refresh = max(MIN_REFRESH, granted * REFRESH_SHARE)
            self.state.next_attempt_at = datetime.now(UTC) + timedelta(seconds=refresh)
            await asyncio.sleep(refresh)

    async def register(self, expiry: int) -> int:
        """One registration (with its challenge round); returns the granted expiry."""
        if self.state.state != "registered":
            self.state.set("registering", next_attempt_at=None)
        response = await self._transaction(expiry)
        if response.status == 423:
            min_expires = response.headers.get("Min-Expires")
            try:
                wanted = parse_delta_seconds(min_expires or "")
            except ParseError:
                wanted = 0
            if wanted <= expiry:
                raise RegistrationFailed("423 without a usable Min-Expires", 423, response.reason)
            response = await self._transaction(wanted)
            expiry = wanted
        if not 200 <= response.status < 300:
            raise RegistrationFailed(f"{response.status} {response.reason}", response.status, response.reason)
        assert self.contact_uri is not None
        granted = granted_expiry(response, self.contact_uri, expiry)
        if granted <= 0:
            raise RegistrationFailed("the registrar granted no time to our contact", response.status, response.reason)
        self.registered = True
        self.state.set(
            "registered",
            status_code=response.status,
            reason=response.reason,
            last_error=None,
            expires_at=datetime.now(UTC) + timedelta(seconds=granted),
        )
        log.info("trunk %s (%s): registered for %ds", self.line.name, self.line.trunk_id, granted)
        return granted

    async def unregister(self) -> None:
        """Expires: 0 for our contact (when a binding may exist); the answer is awaited but not required."""
        if not self.registered or self.dest is None:
            return
        self.registered = False
        try:
            response = await self._transaction(0)
        except RegistrationFailed as exc:
            log.info("trunk %s (%s): un-REGISTER got no answer: %s", self.line.name, self.line.trunk_id, exc)
            return
        log.info("trunk %s (%s): un-REGISTER answered %d", self.line.name, self.line.trunk_id, response.status)

    # ------------------------------------------------------------------------------------------------ messages
    async def _transaction(self, expiry: int) -> Response:
        """Send a REGISTER, answer a challenge (and a stale nonce) with digest; the final response."""
        line = self.line
        if line.transport not in SUPPORTED_TRANSPORTS:
            raise RegistrationFailed(
                f"transport {line.transport} is not supported for trunk registration yet (udp only)"
            )
        if not line.username:
            raise RegistrationFailed("the trunk has no username")
        if self.dest is None:
            try:
                ip = await self.resolve(line.host, line.port)
            except OSError as exc:
                raise RegistrationFailed(f"cannot resolve {line.host}: {exc}") from None
            self.dest = Source(line.transport, ip, line.port)
        request = self._request(self.dest, expiry)
        if expiry > 0:
            self.registered = True  # from now on a binding may exist at the carrier
        response = await self._send(request, self.dest)
        answered: set[str] = set()
        while response.status in (401, 407):
            name, _ = challenge_header(response)
            challenges = response.headers.get_all(name)
            nonces = {_nonce(v) for v in challenges} - {None}
            stale = any(_stale(v) for v in challenges)
            if (answered and (not stale or nonces <= answered)) or len(answered) >= 3:
                return response  # our credentials were refused: the caller reports it
            password = self._password()
            try:
                request = with_credentials(request, response, line.auth_username, password)
            except AuthError as exc:
                raise RegistrationFailed(
                    f"cannot answer the challenge: {exc}", response.status, response.reason
                ) from None
            self.cseq = request.cseq[0]
            answered |= {n for n in nonces if n is not None}
            response = await self._send(request, self.dest)
        return response

    def _password(self) -> str:
        if self.line.password_enc is None:
            raise RegistrationFailed("the trunk has no password")
        try:
            return default_box().decrypt(self.line.password_enc)
        except ValueError as exc:
            raise RegistrationFailed(f"the trunk password cannot be decrypted: {exc}") from None

    def _request(self, dest: Source, expiry: int) -> Request:
        line = self.line
        self.cseq += 1
        contact = re.sub(r"^<sips?:(?:[^@>;]*@)?", f"<sip:{line.username}@", self.addresses.contact(dest), count=1)
        self.contact_uri = contact[1 : contact.index(">")] if contact.startswith("<") and ">" in contact else contact
        request = Request(method="REGISTER", uri=line.request_uri)
        h = request.headers
        h.add("Via", self.addresses.via(dest))
        h.add("Max-Forwards", "70")
        h.add("From", f"<{line.aor}>;tag={self.from_tag}")
        h.add("To", f"<{line.aor}>")
        h.add("Call-ID", self.call_id)
        h.add("CSeq", f"{self.cseq} REGISTER")
        h.add("Contact", contact)
        h.add("Expires", str(expiry))
        h.add("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS")
        h.add("User-Agent", "Centrex")
        h.add("Content-Length", "0")
        return request

    async def _send(self, request: Request, dest: Source) -> Response:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Response | None] = loop.create_future()

        def handler(response: Response | None) -> None:
            if done.done() or (response is not None and response.status < 200):
                return
            done.set_result(response)

        self.sender.send_request(request, dest, handler)
        try:
            response = await asyncio.wait_for(done, REQUEST_TIMEOUT)
        except TimeoutError:
            response = None
        if response is None:
            raise RegistrationFailed(f"no answer from {dest.ip}:{dest.port} ({dest.transport})")
        return response


def _nonce(value: str) -> str | None:
    try:
        return Challenge.parse(value).nonce
    except AuthError:
        return None


def _stale(value: str) -> bool:
    try:
        return Challenge.parse(value).stale
    except AuthError:
        return False


_MANAGERS: weakref.WeakSet[TrunkRegistrations] = weakref.WeakSet()


def for_database(db: Database) -> TrunkRegistrations | None:
    """The manager running on ``db`` in this process (None when SIP is off or not started)."""
    return next((m for m in list(_MANAGERS) if m.db is db and m.running), None)


class TrunkRegistrations:
    """Keeps one ``Registration`` per trunk that should be registered, following the trunks table."""

    def __init__(
        self,
        db: Database,
        sender: Sender,
        addresses: Addresses,
        *,
        poll_interval: float = 5.0,
        resolve: Resolver = resolve_host,
    ) -> None:
        self.db = db
        self.sender = sender
        self.addresses = addresses
        self.poll_interval = poll_interval
        self.resolve = resolve
        self.lines: dict[str, Registration] = {}
        self.running = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._side: set[asyncio.Future[None]] = set()

    # ------------------------------------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._task is not None:
            return
        self.running = True
        _MANAGERS.add(self)
        self.db.commit_hooks.append(self._committed)
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Stop following the table, then un-REGISTER every line (waiting at most ``STOP_TIMEOUT``)."""
        self.running = False
        _MANAGERS.discard(self)
        with contextlib.suppress(ValueError):
            self.db.commit_hooks.remove(self._committed)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        lines = list(self.lines.values())
        self.lines.clear()
        for reg in lines:
            await self._cancel(reg)
        pending: list[asyncio.Future[None]] = [asyncio.ensure_future(reg.unregister()) for reg in lines]
        pending += list(self._side)
        if pending:
            await asyncio.wait(pending, timeout=STOP_TIMEOUT)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    def state(self, trunk_id: str) -> RegistrationState | None:
        reg = self.lines.get(trunk_id)
        return reg.state if reg is not None else None

    def _committed(self, changes: Changes) -> None:
        if "trunks" in changes.tables or "tenants" in changes.tables:
            self._wake.set()

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.sync()
            except Exception:
                log.exception("could not read the trunks to register")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)

    # ------------------------------------------------------------------------------------------------ sync
    async def wanted(self) -> dict[str, TrunkLine]:
        async with self.db.session() as session:
            rows = (
                await session.scalars(
                    select(Trunk).where(Trunk.kind == "registration", Trunk.register.is_(True), Trunk.enabled.is_(True))
                )
            ).all()
        return {t.id: TrunkLine.of(t) for t in rows}

    async def sync(self) -> None:
        """Make the lines those of the table: start new ones, re-register changed ones, drop removed ones."""
        wanted = await self.wanted()
        leaving: dict[str, asyncio.Future[None]] = {}
        for trunk_id in list(self.lines):
            reg = self.lines[trunk_id]
            line = wanted.get(trunk_id)
            if line == reg.line:
                continue
            del self.lines[trunk_id]
            await self._cancel(reg)
            leaving[trunk_id] = self._background(reg.unregister())
        for trunk_id, line in wanted.items():
            if trunk_id not in self.lines:
                reg = Registration(line, self.sender, self.addresses, self.resolve)
                reg.after = leaving.get(trunk_id)
                self.lines[trunk_id] = reg
                reg.task = asyncio.get_running_loop().create_task(reg.run())

    async def _cancel(self, reg: Registration) -> None:
        if reg.task is not None:
            reg.task.cancel()
            await asyncio.gather(reg.task, return_exceptions=True)
            reg.task = None

    def _background(self, coro: Awaitable[None]) -> asyncio.Future[None]:
        task = asyncio.ensure_future(coro)
        self._side.add(task)
        task.add_done_callback(self._side.discard)
        return task
