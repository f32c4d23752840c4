"""Authentication: one place that turns a request's credential into a ``Principal``.

Accepted, in this order: ``X-API-Key: <key>``; ``Authorization: Bearer <key>``; ``Authorization: Basic`` (username
and password of a user); the ``centrex_session`` cookie (browser console; writes also need ``X-CSRF-Token``).
Resolved principals are cached for a couple of seconds (and dropped at once when keys, users, sessions or tenants
change in this process), so the hot path does no SQL and no password hashing. Failed Basic logins go through the
``LoginGuard``; API-key ``last_used_at`` is recorded in memory and written in batches.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from centrex.db.engine import Database
from centrex.db.models.api_key import ApiKey
from centrex.db.models.login_session import LoginSession
from centrex.db.models.tenant import Tenant
from centrex.db.models.user import User
from centrex.db.types import utcnow
from centrex.domain.errors import RateLimited, Unauthenticated
from centrex.domain.tenancy import Principal, Role
from centrex.security.keys import digest
from centrex.security.passwords import DUMMY_HASH, VerificationCache
from centrex.security.ratelimit import LoginGuard

SESSION_COOKIE = "centrex_session"
CSRF_COOKIE = "centrex_csrf"
CSRF_HEADER = "x-csrf-token"
_AUTH_TABLES = frozenset({"api_keys", "users", "login_sessions", "tenants"})


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class Authenticator:
    def __init__(self, db: Database, guard: LoginGuard, cache_ttl: float = 2.0) -> None:
        self.db = db
        self.guard = guard
        self.cache_ttl = cache_ttl
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._verifier = VerificationCache()
        self.key_usage: dict[str, datetime] = {}
        self._inflight: dict[str, asyncio.Future[Principal]] = {}

    # ------------------------------------------------------------------------------------------ cache control
    def invalidate(self, touched: frozenset[str] | None = None) -> None:
        if touched is None or touched & _AUTH_TABLES:
            self._cache.clear()

    def _cached(self, key: str) -> Principal | None:
        hit = self._cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return None

    def _remember(self, key: str, principal: Principal, until: float | None = None) -> Principal:
        if len(self._cache) > 100_000:
            self._cache.clear()
        expires = time.monotonic() + self.cache_ttl
        self._cache[key] = (min(expires, until) if until else expires, principal)
        return principal

    # ------------------------------------------------------------------------------------------ entry point
    async def authenticate(self, request: Request) -> Principal | None:
        headers = request.headers
        api_key = headers.get("x-api-key")
        if api_key:
            return await self.by_key(api_key.strip())
        authorization = headers.get("authorization")
        if authorization:
            scheme, _, credential = authorization.partition(" ")
            scheme = scheme.lower()
            if scheme == "bearer":
                return await self.by_key(credential.strip())
            if scheme == "basic":
                return await self.by_basic(credential.strip(), client_ip(request))
            raise Unauthenticated("Unsupported Authorization scheme; use Basic or Bearer")
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            return await self.by_session(cookie)
        return None

    # ------------------------------------------------------------------------------------------ API keys
    async def by_key(self, secret: str) -> Principal:
        if not secret or len(secret) > 200:
            raise Unauthenticated("Invalid API key")
        key_digest = digest(secret)
        cache_key = "k:" + key_digest
        principal = self._cached(cache_key)
        if principal is None:
            principal = await self._single_flight(cache_key, lambda: self._load_key(key_digest, cache_key))
        self.key_usage[principal.id] = utcnow()
        return principal

    async def _single_flight(self, cache_key: str, load: Callable[[], Awaitable[Principal]]) -> Principal:
        """Resolve a credential once when many requests need it at the same moment (e.g. the cache expired)."""
        waiter = self._inflight.get(cache_key)
        if waiter is not None:
            return await asyncio.shield(waiter)
        future: asyncio.Future[Principal] = asyncio.get_running_loop().create_future()
        self._inflight[cache_key] = future
        try:
            principal = await load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else needs to
            raise
        finally:
            self._inflight.pop(cache_key, None)
        future.set_result(principal)
        return principal

    async def _load_key(self, key_digest: str, cache_key: str) -> Principal:
        async with self.db.session() as session:
            row = (
                await session.execute(
                    select(ApiKey, Tenant.path)
                    .join(Tenant, Tenant.id == ApiKey.tenant_id)
                    .where(ApiKey.key_hash == key_digest)
                )
            ).first()
        if row is None:
            raise Unauthenticated("Invalid API key")
        key, path = row
        now = utcnow()
        if key.revoked_at is not None:
            raise Unauthenticated("This API key has been revoked")
        if key.expires_at is not None and key.expires_at <= now:
            raise Unauthenticated("This API key has expired")
        until = None
        if key.expires_at is not None:
            until = time.monotonic() + (key.expires_at - now).total_seconds()
        principal = self._remember(
            cache_key,
            Principal(
                kind="api_key",
                id=key.id,
                name=key.name,
                role=Role(key.role),
                tenant_id=key.tenant_id,
                tenant_path=path,
                read_only=key.read_only,
            ),
            until,
        )
        return principal

    async def flush_key_usage(self) -> None:
        """Write remembered ``last_used_at`` values (called periodically and at shutdown)."""
        if not self.key_usage:
            return
        pending, self.key_usage = self.key_usage, {}
        lock = self.db.write_lock
        if lock is not None:
            await lock.acquire()
        try:
            async with self.db.session() as session:
                for key_id, when in pending.items():
                    await session.execute(
                        update(ApiKey)
                        .where(ApiKey.id == key_id)
                        .values(last_used_at=when)
                        .execution_options(synchronize_session=False)
                    )
                await session.commit()
        finally:
            if lock is not None:
                lock.release()

    # ------------------------------------------------------------------------------------------ Basic
    async def by_basic(self, credential: str, ip: str) -> Principal:
        cache_key = "b:" + hashlib.sha256(credential.encode()).hexdigest()
        principal = self._cached(cache_key)
        if principal is not None:
            return principal
        try:
            decoded = base64.b64decode(credential, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthenticated("Malformed Basic credentials") from None
        username, sep, password = decoded.partition(":")
        if not sep or not username:
            raise Unauthenticated("Malformed Basic credentials")
        principal = await self.check_password(username, password, ip)
        return self._remember(cache_key, principal)

    async def check_password(
        self, username: str, password: str, ip: str, session: AsyncSession | None = None
    ) -> Principal:
        """Verify a username/password (Basic and the login endpoint), with the failed-login guard.

        Inside a request, pass the request's session (one connection per request on SQLite)."""
        wait = self.guard.retry_after(username, ip)
        if wait > 0:
            raise RateLimited("Too many failed logins; try again later", retry_after=wait)
        query = (
            select(User, Tenant.path).join(Tenant, Tenant.id == User.tenant_id).where(User.username == username.lower())
        )
        if session is not None:
            row = (await session.execute(query)).first()
        else:
            async with self.db.session() as own:
                row = (await own.execute(query)).first()
        stored = row[0].password_hash if row is not None else DUMMY_HASH
        ok = await asyncio.to_thread(self._verifier.verify, stored, password)
        if row is None or not ok or not row[0].enabled:
            self.guard.failed(username, ip)
            raise Unauthenticated("Invalid username or password")
        self.guard.succeeded(username, ip)
        user, path = row
        return self.user_principal(user, path)

    @staticmethod
    def user_principal(user: User, tenant_path: str, *, kind: str = "user", csrf: str | None = None) -> Principal:
        return Principal(
            kind=kind,
            id=user.id,
            name=user.username,
            role=Role(user.role),
            tenant_id=user.tenant_id,
            tenant_path=tenant_path,
            user_id=user.id,
            extension_id=user.extension_id,
            csrf_token=csrf,
        )

    # ------------------------------------------------------------------------------------------ sessions
    async def by_session(self, token: str) -> Principal:
        token_digest = digest(token)
        cache_key = "s:" + token_digest
        principal = self._cached(cache_key)
        if principal is not None:
            return principal
        async with self.db.session() as session:
            row = (
                await session.execute(
                    select(LoginSession, User, Tenant.path)
                    .join(User, User.id == LoginSession.user_id)
                    .join(Tenant, Tenant.id == User.tenant_id)
                    .where(LoginSession.token_hash == token_digest)
                )
            ).first()
        if row is None:
            raise Unauthenticated("Session expired or invalid; log in again")
        login, user, path = row
        if login.expires_at <= utcnow() or not user.enabled:
            raise Unauthenticated("Session expired or invalid; log in again")
        principal = self.user_principal(user, path, kind="session", csrf=login.csrf_token)
        return self._remember(cache_key, principal)
