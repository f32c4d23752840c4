"""Alembic, driven from code: ``upgrade``/``downgrade``/``current`` for a database URL.

Migrations run on a worker thread with their own event loop, so they can be called from async code (the server's
start-up) as well as from the CLI and tests.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["url"] = url
    return cfg


def _in_thread(fn: object, *args: object) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn(*args)  # type: ignore[operator]
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    t = threading.Thread(target=run, name="alembic")
    t.start()
    t.join()
    if errors:
        raise errors[0]


def upgrade(url: str, revision: str = "head") -> None:
    _in_thread(command.upgrade, alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    _in_thread(command.downgrade, alembic_config(url), revision)


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    head = script.get_current_head()
    if head is None:
        raise RuntimeError("no migrations")
    return head


def current_revision(url: str) -> str | None:
    result: list[str | None] = []

    async def read() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                rev = await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
                result.append(rev)
        finally:
            await engine.dispose()

    _in_thread(asyncio.run, read())
    return result[0]
