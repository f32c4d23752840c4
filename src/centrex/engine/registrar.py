"""REGISTER handling (RFC 3261 §10.3) for the extensions of every tenant.

Rules (see docs/sip.md):
- The tenant is the one whose ``sip_domain`` is the Request-URI host; the To URI must name the same domain (a phone
  registering by IP address must set its domain/realm to the tenant's SIP domain). Unknown domain → 404.
- Digest authentication with realm = the tenant's SIP domain, MD5 and SHA-256 challenges (MD5 first, see
  ALGORITHMS; MD5 only for user agents in ``md5_only_agents``, e.g. baresip 1.x, which give up on an algorithm they
  lack); the digest username must be the To user, which is an extension's ``sip_username``. Unknown user or
  wrong password → 403 (an unknown user is challenged like a known one, so names cannot be probed); an old or
  replayed nonce → 401 with ``stale=true``; the digest uri is not compared with the Request-URI (interop).
- A suspended tenant or a disabled extension → 403.
- Bindings by Contact URI (compared as text): add/refresh, remove with expires 0, ``Contact: *`` with ``Expires: 0``
  removes all; an expiry below ``min_expires`` → 423 with Min-Expires, above ``max_expires`` is lowered;
  a binding from the same Call-ID with a CSeq not higher than the stored one → 500 (request out of order);
  at most ``max_contacts`` per extension (403 beyond). 200 OK lists every current contact with its expires.
- Edge guard (``centrex.sipguard``, when one is attached as ``guard``): credentials from a blocked (username, IP)
  pair get no answer and no password check; a wrong password is reported (``auth_failed``: the answer is still 403,
  or nothing when the source was just banned for password spraying), a right one too (``auth_succeeded``).
  ``has_source(ip, port)`` tells the guard which sources hold a live binding (they are never limited).
- ``authenticate`` applies the same digest check to the B2BUA's INVITEs, as proxy authentication (407 with
  ``Proxy-Authenticate``, credentials in ``Proxy-Authorization``; docs/calls.md).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from centrex.db.engine import Database
from centrex.db.models.extension import Extension
from centrex.db.models.sip import SipRegistration
from centrex.db.models.tenant import Tenant
from centrex.db.tracking import Changes
from centrex.db.uow import UnitOfWork
from centrex.domain.ids import new_id
from centrex.engine.events import emit_registration
from centrex.security.secrets import default_box
from centrex.sip.auth import (
    AuthError,
    Credentials,
    DigestAuthenticator,
    NonceCountTracker,
    NonceManager,
    Outcome,
    compute_ha1,
)
from centrex.sip.message import NameAddr, ParseError, Request, Response, SipUri, parse_addresses, parse_uri
from centrex.sip.message.fields import get_param, parse_delta_seconds
from centrex.sip.transport.base import Source, reply
from centrex.sipguard import Allow, Ban, Guard
from centrex.sipguard.addresses import canonical_ip

# MD5 first: many phones (and SIPp 3.6) read only the first WWW-Authenticate and support only MD5; clients that
# prefer SHA-256 (RFC 8760) find it in the second challenge. Both are verified whichever the client picks.
ALGORITHMS = ("MD5", "SHA-256")
LOOKUP_TTL = 2.0  # seconds a (domain, user) → tenant/extension lookup is reused
LOOKUP_MAX = 100_000
LOOKUP_TABLES = frozenset({"tenants", "extensions"})


@dataclass(frozen=True, slots=True)
class RegistrarConfig:
    min_expires: int = 60
    max_expires: int = 3600
    default_expires: int = 3600
    max_contacts: int = 10
    nonce_lifetime: float = 300.0
    algorithms: tuple[str, ...] = ALGORITHMS  # challenge order
    # User agents that give up when a challenge names an algorithm they lack (baresip 1.x): MD5 only for them.
    md5_only_agents: tuple[str, ...] = ("baresip",)


class _Silence(Exception):
    """Do not answer the request (the guard refused it)."""


class _Refusal(Exception):
    """Answer the request with ``status`` (and these extra header fields)."""

    def __init__(self, status: int, reason: str, headers: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers


@dataclass(slots=True)
class _Target:
    tenant_id: str
    domain: str
    suspended: bool
    extension_id: str | None
    enabled: bool
    password_enc: str | None
    user: str


Target = _Target  # who authenticated: tenant, domain, extension (for the B2BUA)


def _now() -> datetime:
    return datetime.now(UTC)


def _ts(dt: datetime) -> float:
    """POSIX seconds of a stored time (SQLite gives naive UTC datetimes back)."""
    return (dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)).timestamp()


def _clip(text: str | None, limit: int) -> str | None:
    return None if text is None else text[:limit]


class Registrar:
    def __init__(self, db: Database, config: RegistrarConfig | None = None, *, nonce_secret: bytes | None = None):
        self.db = db
        self._lookups: dict[tuple[str, str], tuple[float, _Target | None]] = {}
        db.commit_hooks.append(self._changed)
        self.config = config or RegistrarConfig()
        self.nonces = NonceManager(nonce_secret or secrets.token_bytes(32), lifetime=self.config.nonce_lifetime)
        self.tracker = NonceCountTracker(lifetime=self.config.nonce_lifetime)
        self.guard: Guard | None = None
        self.on_ban: Callable[[], None] | None = None  # set by the server: called when the guard made a ban
        # Live bindings by source: (ip, port) -> {extension id: expiry (POSIX seconds)}, and the reverse index.
        self._sources: dict[tuple[str, int], dict[str, float]] = {}
        self._ext_sources: dict[str, set[tuple[str, int]]] = {}
        self._reloading: set[str] | None = None  # extensions changed while ``load_bindings`` queries

    # ------------------------------------------------------------------------------------------------ bindings
    def has_source(self, ip: str, port: int) -> bool:
        """Does ``ip:port`` hold a current registration (of any extension)?"""
        exts = self._sources.get((canonical_ip(ip), port))
        if not exts:
            return False
        now = time.time()
        return any(expiry > now for expiry in exts.values())

    def _set_bindings(self, ext_id: str, bindings: list[tuple[str, int, float]]) -> None:
        for key in self._ext_sources.pop(ext_id, set()):
            exts = self._sources.get(key)
            if exts is not None:
                exts.pop(ext_id, None)
                if not exts:
                    del self._sources[key]
        keys: set[tuple[str, int]] = set()
        for ip, port, expiry in bindings:
            key = (canonical_ip(ip), port)
            exts = self._sources.setdefault(key, {})
            exts[ext_id] = max(expiry, exts.get(ext_id, 0.0))
            keys.add(key)
        if keys:
            self._ext_sources[ext_id] = keys

    def _bindings_changed(self, ext_id: str, bindings: list[tuple[str, int, float]]) -> None:
        """A REGISTER committed a change of ``ext_id``'s bindings."""
        if self._reloading is not None:
            self._reloading.add(ext_id)
        self._set_bindings(ext_id, bindings)

    async def load_bindings(self) -> int:
        """(Re)load the live bindings' sources from the database: at start, and after every purge (so bindings
        deleted through the API or expired stop counting). Extensions whose bindings a REGISTER changed while the
        query ran keep their in-memory state. Returns how many bindings were read."""
        self._reloading = set()
        try:
            async with self.db.session() as session:
                rows = (
                    await session.execute(
                        select(
                            SipRegistration.extension_id,
                            SipRegistration.source_ip,
                            SipRegistration.source_port,
                            SipRegistration.expires_at,
                        ).where(SipRegistration.expires_at > _now())
                    )
                ).all()
        finally:
            changed, self._reloading = self._reloading, None
        by_ext: dict[str, list[tuple[str, int, float]]] = {}
        for row in rows:
            if row.extension_id not in changed:
                by_ext.setdefault(row.extension_id, []).append((row.source_ip, row.source_port, _ts(row.expires_at)))
        for ext_id in list(self._ext_sources):
            if ext_id not in changed and ext_id not in by_ext:
                self._set_bindings(ext_id, [])
        for ext_id, bindings in by_ext.items():
            self._set_bindings(ext_id, bindings)
        return len(rows)

    def authenticator(self, realm: str, user_agent: str | None = None) -> DigestAuthenticator:
        """The digest authenticator of a realm; a user agent listed in ``md5_only_agents`` is challenged with MD5
        only (the same nonces: its credentials verify either way)."""
        algorithms = self.config.algorithms
        agent = (user_agent or "").lower()
        if agent and "MD5" in algorithms and any(a.lower() in agent for a in self.config.md5_only_agents if a):
            algorithms = ("MD5",)
        return DigestAuthenticator(realm, self.nonces, self.tracker, algorithms=algorithms)

    async def handle(self, request: Request, source: Source) -> Response | None:
        """The answer to a REGISTER, or None when the guard says not to answer."""
        try:
            return await self._handle(request, source)
        except _Silence:
            return None
        except _Refusal as refusal:
            response = reply(request, refusal.status, refusal.reason)
            for name, value in refusal.headers:
                response.headers.add(name, value)
            return response

    # ------------------------------------------------------------------------------------------------ steps
    async def _handle(self, request: Request, source: Source) -> Response:
        domain, user = self._address(request)
        target = await self._lookup(domain, user)
        if target is None:
            raise _Refusal(404, "Not Found")
        self._authenticate(request, target, source)
        if target.suspended or not target.enabled or target.extension_id is None:
            raise _Refusal(403, "Forbidden")
        contacts = self._contacts(request)
        bindings = await self._apply(request, source, target, user, domain, contacts)
        response = reply(request, 200, "OK")
        now = _now()
        for reg in bindings:
            remaining = max(0, round((reg.expires_at - now).total_seconds()))
            response.headers.add("Contact", f"{reg.contact};expires={remaining}")
        response.headers.add("Date", now.strftime("%a, %d %b %Y %H:%M:%S GMT"))
        return response

    @staticmethod
    def _address(request: Request) -> tuple[str, str]:
        """(domain, user) from the Request-URI and To (§10.3 steps 1 and 5)."""
        try:
            ruri = parse_uri(request.uri)
            to = parse_addresses(request.headers.get_all("To"))[0].parsed_uri()
        except (ParseError, IndexError):
            raise _Refusal(400, "Bad Request") from None
        if not isinstance(ruri, SipUri) or not isinstance(to, SipUri):
            raise _Refusal(416, "Unsupported URI Scheme")
        domain = ruri.host.lower()
        if to.host.lower() != domain:
            raise _Refusal(403, "Forbidden (To domain differs from the Request-URI)")
        if not to.user:
            raise _Refusal(404, "Not Found")
        return domain, to.user

    def close(self) -> None:
        """Stop following the database's commits (the server stops)."""
        if self._changed in self.db.commit_hooks:
            self.db.commit_hooks.remove(self._changed)

    def _changed(self, changes: Changes) -> None:
        """A commit in this process touched tenants or extensions: forget every cached credential lookup."""
        if changes.tables & LOOKUP_TABLES:
            self._lookups.clear()

    async def _lookup(self, domain: str, user: str) -> _Target | None:
        """The tenant and extension a REGISTER/INVITE names, cached for ``LOOKUP_TTL`` seconds (both messages of a
        digest exchange, and every refresh, hit the cache); any commit in this process that changes tenants or
        extensions empties the cache, changes made by other processes apply within the TTL."""
        key = (domain, user)
        now = time.monotonic()
        cached = self._lookups.get(key)
        if cached is not None and now - cached[0] < LOOKUP_TTL:
            return cached[1]
        target = await self._lookup_db(domain, user)
        if len(self._lookups) >= LOOKUP_MAX:
            self._lookups.clear()
        self._lookups[key] = (now, target)
        return target

    async def _lookup_db(self, domain: str, user: str) -> _Target | None:
        async with self.db.session() as session:
            tenant = (
                await session.execute(select(Tenant.id, Tenant.status).where(Tenant.sip_domain == domain))
            ).one_or_none()
            if tenant is None:
                return None
            ext = (
                await session.execute(
                    select(Extension.id, Extension.enabled, Extension.sip_password_enc).where(
                        Extension.tenant_id == tenant.id, Extension.sip_username == user
                    )
                )
            ).one_or_none()
        return _Target(
            tenant_id=tenant.id,
            domain=domain,
            suspended=tenant.status != "active",
            extension_id=ext.id if ext else None,
            enabled=bool(ext.enabled) if ext else False,
            password_enc=ext.sip_password_enc if ext else None,
            user=user,
        )

    async def authenticate(self, request: Request, source: Source, domain: str, user: str) -> Target | Response | None:
        """Proxy authentication of a request other than REGISTER (an INVITE from an extension, §22.3): the caller's
        target when ``user``@``domain`` proved its password, else the answer (407 challenge, 403, 404), or None
        when the guard says not to answer. Same rules and guard reports as REGISTER."""
        try:
            target = await self._lookup(domain.lower(), user)
            if target is None:
                raise _Refusal(404, "Not Found")
            self._authenticate(request, target, source, proxy=True)
        except _Silence:
            return None
        except _Refusal as refusal:
            response = reply(request, refusal.status, refusal.reason)
            for name, value in refusal.headers:
                response.headers.add(name, value)
            return response
        return target

    def _authenticate(self, request: Request, target: _Target, source: Source, *, proxy: bool = False) -> None:
        auth = self.authenticator(target.domain, request.headers.get("User-Agent"))
        credentials: Credentials | None = None
        for value in request.headers.get_all("Proxy-Authorization" if proxy else "Authorization"):
            try:
                parsed = Credentials.parse(value)
            except AuthError:
                raise _Refusal(400, "Bad Request (malformed Authorization)") from None
            if parsed.realm == target.domain:
                credentials = parsed
                break
        if credentials is None:
            self._challenge(auth, stale=False, proxy=proxy)
            return
        guard = self.guard
        if guard is not None and not isinstance(guard.check_auth(credentials.username, source.ip, source.port), Allow):
            raise _Silence()  # the (username, IP) pair is blocked: no answer, no password check
        if credentials.username != target.user:
            self._failed(credentials.username, source)
            raise _Refusal(403, "Forbidden")
        ha1: str | None = None
        if target.password_enc is not None:
            try:
                algorithm = credentials.effective_algorithm.removesuffix("-sess")
                password = default_box().decrypt(target.password_enc)
                ha1 = compute_ha1(target.user, target.domain, password, algorithm)
            except (AuthError, ValueError):
                ha1 = None
        # The digest uri is not compared with the Request-URI: phones and SIPp put the server's address there while
        # the Request-URI names the domain (as Kamailio and Asterisk, we accept it; the nonce still binds the realm).
        verdict = auth.verify(credentials, ha1=ha1, method=request.method)
        if verdict.ok:
            if guard is not None:
                guard.auth_succeeded(credentials.username, source.ip, source.port)
            return
        if verdict.outcome in (Outcome.FAILED, Outcome.INVALID):
            self._failed(credentials.username, source)
        if verdict.outcome is Outcome.FAILED:
            raise _Refusal(403, "Forbidden")
        self._challenge(auth, stale=verdict.stale, proxy=proxy)

    def _failed(self, username: str, source: Source) -> None:
        """Report a failed authentication to the guard; no answer when it banned the source just now."""
        if self.guard is None:
            return
        if isinstance(self.guard.auth_failed(username, source.ip, source.port), Ban):
            if self.on_ban is not None:
                self.on_ban()
            raise _Silence()

    @staticmethod
    def _challenge(auth: DigestAuthenticator, *, stale: bool, proxy: bool = False) -> None:
        challenges = auth.challenges(stale=stale)
        if proxy:
            raise _Refusal(
                407, "Proxy Authentication Required", tuple(("Proxy-Authenticate", str(c)) for c in challenges)
            )
        raise _Refusal(401, "Unauthorized", tuple(("WWW-Authenticate", str(c)) for c in challenges))

    def _contacts(self, request: Request) -> list[tuple[NameAddr, int]]:
        """The Contact bindings with their expiry (0 = remove); a wildcard is returned with uri ``*``."""
        try:
            contacts = parse_addresses(request.headers.get_all("Contact"), allow_wildcard=True)
            header = request.headers.get("Expires")
            expires_header = parse_delta_seconds(header) if header is not None else None
        except ParseError:
            raise _Refusal(400, "Bad Request (malformed Contact or Expires)") from None
        if any(c.wildcard for c in contacts):
            if len(contacts) != 1 or expires_header != 0:
                raise _Refusal(400, "Bad Request (Contact: * needs Expires: 0 and no other contact)")
            return [(contacts[0], 0)]
        out: list[tuple[NameAddr, int]] = []
        for contact in contacts:
            try:
                expires = contact.expires
            except ParseError:
                expires = None
            if expires is None:
                expires = expires_header if expires_header is not None else self.config.default_expires
            if 0 < expires < self.config.min_expires:
                raise _Refusal(423, "Interval Too Brief", (("Min-Expires", str(self.config.min_expires)),))
            if len(contact.uri) > 1000 or len(str(contact)) > 1000:
                raise _Refusal(400, "Bad Request (Contact too long)")
            out.append((contact, min(expires, self.config.max_expires)))
        return out

    async def _apply(
        self,
        request: Request,
        source: Source,
        target: _Target,
        user: str,
        domain: str,
        contacts: list[tuple[NameAddr, int]],
    ) -> list[SipRegistration]:
        """§10.3 steps 6–8 in one transaction: the extension's bindings after the change."""
        call_id = request.call_id or ""
        cseq = request.cseq[0]
        if len(call_id) > 255:
            raise _Refusal(400, "Bad Request (Call-ID too long)")
        ext_id = target.extension_id
        assert ext_id is not None
        now = _now()
        async with UnitOfWork(self.db) as uow:
            session = uow.session
            await session.execute(
                delete(SipRegistration).where(SipRegistration.extension_id == ext_id, SipRegistration.expires_at <= now)
            )
            rows = list(
                (await session.execute(select(SipRegistration).where(SipRegistration.extension_id == ext_id)))
                .scalars()
                .all()
            )
            by_uri = {r.contact_uri: r for r in rows}
            removed: list[SipRegistration] = []
            created: list[SipRegistration] = []
            if contacts and contacts[0][0].wildcard:
                for old in rows:
                    if old.call_id == call_id and cseq <= old.cseq:
                        raise _Refusal(500, "Server Internal Error (request out of order)")
                for old in rows:
                    await session.delete(old)
                removed.extend(rows)
                rows = []
            for contact, expires in contacts:
                row = by_uri.get(contact.uri)
                if row is not None and row.call_id == call_id and cseq <= row.cseq:
                    raise _Refusal(500, "Server Internal Error (request out of order)")
                if expires == 0:
                    if row is not None:
                        await session.delete(row)
                        rows.remove(row)
                        removed.append(row)
                    continue
                values = self._values(request, source, contact, expires, now, call_id, cseq, f"sip:{user}@{domain}")
                if row is None:
                    if len(rows) >= self.config.max_contacts:
                        raise _Refusal(403, "Forbidden (too many contacts)")
                    row = SipRegistration(
                        id=new_id("reg"), tenant_id=target.tenant_id, extension_id=ext_id, contact_uri=contact.uri
                    )
                    session.add(row)
                    rows.append(row)
                    by_uri[contact.uri] = row
                    created.append(row)
                for name, value in values.items():
                    setattr(row, name, value)
            for row in removed:
                await emit_registration(session, row, "registration.removed")
            for row in created:
                await emit_registration(session, row, "registration.created")
            await session.flush()
            await uow.commit()
        self._bindings_changed(ext_id, [(r.source_ip, r.source_port, _ts(r.expires_at)) for r in rows])
        return sorted(rows, key=lambda r: r.contact_uri)

    @staticmethod
    def _values(
        request: Request,
        source: Source,
        contact: NameAddr,
        expires: int,
        now: datetime,
        call_id: str,
        cseq: int,
        aor: str,
    ) -> dict[str, object]:
        instance = get_param(contact.params, "+sip.instance")
        reg_id = get_param(contact.params, "reg-id")
        path = ", ".join(request.headers.get_all("Path")) or None
        return {
            "aor": aor[:255],
            "contact": str(contact),
            "source_ip": source.ip,
            "source_port": source.port,
            "transport": source.transport,
            "user_agent": _clip(request.headers.get("User-Agent"), 255),
            "call_id": call_id,
            "cseq": cseq,
            "instance_id": _clip(instance.strip('"') if instance else None, 255),
            "reg_id": int(reg_id) if reg_id and reg_id.isdigit() and len(reg_id) < 9 else None,
            "path": _clip(path, 1000),
            "expires_at": now + timedelta(seconds=expires),
        }

    async def drop_binding(self, registration_id: str, call_id: str, cseq: int) -> bool:
        """Delete one binding (its contact stopped answering the keep-alive) unless a REGISTER changed it since
        (other ``call_id``/``cseq``); the source index follows. True when it was deleted."""
        async with UnitOfWork(self.db) as uow:
            session = uow.session
            row = await session.get(SipRegistration, registration_id)
            if row is None or row.call_id != call_id or row.cseq != cseq:
                return False
            ext_id = row.extension_id
            await emit_registration(session, row, "registration.removed")
            await session.delete(row)
            await session.flush()
            rest = (
                await session.execute(
                    select(SipRegistration.source_ip, SipRegistration.source_port, SipRegistration.expires_at).where(
                        SipRegistration.extension_id == ext_id, SipRegistration.expires_at > _now()
                    )
                )
            ).all()
            await uow.commit()
        self._bindings_changed(ext_id, [(r.source_ip, r.source_port, _ts(r.expires_at)) for r in rest])
        return True

    async def purge_expired(self) -> int:
        """Delete expired bindings of every tenant; returns how many."""
        async with UnitOfWork(self.db) as uow:
            now = _now()
            expired = list(
                (await uow.session.execute(select(SipRegistration).where(SipRegistration.expires_at <= now)))
                .scalars()
                .all()
            )
            count = len(expired)
            if count:
                for row in expired:
                    await emit_registration(uow.session, row, "registration.expired")
                await uow.session.execute(
                    delete(SipRegistration).where(SipRegistration.id.in_([r.id for r in expired]))
                )
                await uow.commit()
        await self.load_bindings()
        return count
