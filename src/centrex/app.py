"""``create_app(settings)``: the one place where Centrex is wired together.

uvicorn calls it as a factory (``centrex.app:create_app``); nothing else imports this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from centrex import __version__
from centrex.api import openapi, system
from centrex.api.auth import Authenticator
from centrex.api.idempotency import purge_expired
from centrex.api.middleware import EdgeMiddleware
from centrex.api.problems import HANDLERS, PROBLEM_RESPONSES
from centrex.api.response_cache import ResponseCache
from centrex.api.state import AppState
from centrex.api.tenant_directory import TenantDirectory
from centrex.bootstrap import ensure_platform
from centrex.callflow.cache import CallFlowCache
from centrex.cdr.writer import recover_interrupted
from centrex.config import Settings
from centrex.db import migrate
from centrex.db.engine import Database
from centrex.engine.server import BAN_REFRESH_SECONDS, start_sip
from centrex.events.runtime import EventRuntime
from centrex.logging import configure as configure_logging
from centrex.resources.media.blobs import install as install_blob_gc
from centrex.resources.media.blobs import sweep as sweep_orphan_blobs
from centrex.resources.registry import router_modules
from centrex.security.ratelimit import LoginGuard, TokenBuckets
from centrex.security.secrets import configure_box, load_key
from centrex.sipguard import GuardConfig
from centrex.storage.blobs import BlobStore
from centrex.webhooks.dispatcher import WebhookWorker

log = logging.getLogger("centrex")
STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"


def _banner(
    settings: Settings, boot_username: str, generated: str | None, created: bool, sip: str | None = None
) -> str:
    base = settings.base_url
    lines = [
        "",
        f"Centrex {__version__} is running",
        f"  API:        {base}/api/v1",
        f"  API docs:   {base}/docs   (OpenAPI: {base}/openapi.json)",
        f"  Health:     {base}/healthz  {base}/readyz",
        f"  SIP:        {sip or 'not started (no SIP listener configured: --sip HOST:PORT)'}",
        f"  Database:   {settings.resolved_database_url.split('@')[-1]}",
        f"  Data dir:   {settings.data_dir.resolve()}",
    ]
    if created and generated:
        lines += [
            f"  Admin:      {boot_username} / {generated}",
            "              (generated now and shown only once: store it, or set CENTREX_ADMIN_PASSWORD)",
        ]
    elif created:
        lines.append(f"  Admin:      {boot_username} (password from CENTREX_ADMIN_PASSWORD)")
    else:
        lines.append(f"  Admin:      {boot_username} (existing account)")
    return "\n".join(lines) + "\n"


async def _every(seconds: float, job: object) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()  # type: ignore[operator]
        except Exception:
            log.exception("periodic job failed")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_json)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    configure_box(load_key(settings.secret_key, settings.data_dir))
    db = Database(settings.resolved_database_url)
    blobs = BlobStore(settings.blob_dir)
    install_blob_gc(db, blobs)  # deleted rows take their unreferenced audio blobs along
    guard = LoginGuard(settings.login_max_failures, settings.login_lock_seconds, settings.login_lock_max_seconds)
    auth = Authenticator(db, guard, settings.principal_cache_seconds)
    tenants = TenantDirectory(settings.principal_cache_seconds)
    response_cache = ResponseCache(settings.response_cache_seconds)
    callflow = CallFlowCache(db)
    events = EventRuntime(db, settings)  # outbox relay + bus (docs/events.md)
    for component in (auth, tenants, response_cache):
        db.commit_hooks.append(lambda changes, c=component: c.invalidate(changes.tables))
    db.commit_hooks.append(callflow.invalidate)
    webhooks = WebhookWorker(db, settings) if settings.webhook_worker else None
    if webhooks is not None:
        db.commit_hooks.append(webhooks.on_commit)
    state = AppState(
        settings=settings,
        db=db,
        auth=auth,
        tenants=tenants,
        key_buckets=TokenBuckets(settings.rate_limit_per_key, settings.rate_limit_key_burst)
        if settings.rate_limit_per_key > 0
        else None,
        login_guard=guard,
        response_cache=response_cache,
        callflow=callflow,
    )

    async def purge_idempotency() -> None:
        lock = db.write_lock
        if lock is not None:
            await lock.acquire()
        try:
            async with db.session() as session:
                await purge_expired(session)
                await session.commit()
        finally:
            if lock is not None:
                lock.release()

    async def sweep_blobs() -> None:
        """Orphan audio left by a crash between a commit and its file deletes (older than an hour)."""
        async with db.session() as session:
            swept = await sweep_orphan_blobs(session, blobs, 3600.0)
        if swept:
            log.info("blob sweep deleted %d orphan audio files", swept)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            await asyncio.to_thread(migrate.upgrade, settings.resolved_database_url)
        boot = await ensure_platform(db, settings)
        interrupted = await recover_interrupted(db)  # calls cut off by a previous stop or crash
        if interrupted:
            log.warning("marked %d call records interrupted (in progress when the engine last stopped)", interrupted)
        sip, sip_line = await start_sip(
            db, settings.sip_hostport, guard=GuardConfig.from_settings(settings), callflow=callflow
        )
        sys.stdout.write(_banner(settings, boot.admin_username, boot.generated_password, boot.created, sip_line))
        sys.stdout.flush()
        await callflow.start()
        await events.start()
        tasks = [
            asyncio.create_task(_every(callflow.poll_interval, callflow.poll)),
            asyncio.create_task(_every(15.0, auth.flush_key_usage)),
            asyncio.create_task(_every(3600.0, purge_idempotency)),
            asyncio.create_task(_every(3600.0, sweep_blobs)),
            asyncio.create_task(_every(3600.0, events.prune)),
        ]
        if webhooks is not None:
            tasks.append(asyncio.create_task(webhooks.run()))
        if sip is not None:
            tasks.append(asyncio.create_task(_every(60.0, sip.purge)))
            tasks.append(asyncio.create_task(_every(BAN_REFRESH_SECONDS, sip.refresh_bans)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if sip is not None:
                await sip.stop()
            await events.stop()
            await auth.flush_key_usage()
            await db.dispose()

    app = FastAPI(
        title="Centrex API",
        version=__version__,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.centrex = state
    app.state.events = events
    for exc_type, handler in HANDLERS.items():
        app.add_exception_handler(exc_type, handler)
    app.add_middleware(
        EdgeMiddleware,
        max_body=settings.max_body_bytes,
        max_upload=settings.max_upload_bytes,
        ip_buckets=TokenBuckets(settings.rate_limit_per_ip, settings.rate_limit_ip_burst)
        if settings.rate_limit_per_ip > 0
        else None,
    )
    v1 = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)
    for module in router_modules():
        v1.include_router(module.router)
    app.include_router(v1)
    app.include_router(system.router)
    if STATIC_DIR.exists():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    openapi.install(app)
    return app
