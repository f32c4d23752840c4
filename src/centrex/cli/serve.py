"""``centrex serve`` and ``centrex db``: run the server (uvicorn over the ``centrex.app:create_app`` factory) and
migrations. Settings go through ``CENTREX_*`` environment variables, so the app is configured the same way whether
it is started here, by uvicorn directly, or by a process manager."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

serve_app = typer.Typer(help="Run the Centrex server.")
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)


def _export(data_dir: Path | None, http: str | None, database_url: str | None) -> None:
    if data_dir is not None:
        os.environ["CENTREX_DATA_DIR"] = str(data_dir)
    if http is not None:
        os.environ["CENTREX_HTTP"] = http
    if database_url is not None:
        os.environ["CENTREX_DATABASE_URL"] = database_url


DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory (SQLite database, secrets).",
        envvar="CENTREX_DATA_DIR",
        show_envvar=True,
    ),
]
Http = Annotated[
    str | None,
    typer.Option(
        "--http",
        help="HOST:PORT for the HTTP API [default 127.0.0.1:8080].",
        envvar="CENTREX_HTTP",
        show_envvar=True,
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy async URL, e.g. postgresql+asyncpg://user@host/db [default: SQLite under the data directory].",
        envvar="CENTREX_DATABASE_URL",
        show_envvar=True,
    ),
]


def serve(
    data_dir: DataDir = None,
    http: Http = None,
    database_url: DatabaseUrl = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info",
    sip: Annotated[
        str | None,
        typer.Option(
            "--sip",
            help="HOST:PORT for SIP over UDP and TCP, or `off` [default 127.0.0.1:5060].",
            envvar="CENTREX_SIP_LISTEN",
            show_envvar=True,
        ),
    ] = None,
) -> None:
    """Start the API and the SIP engine in one process."""
    import uvicorn

    from centrex.config import Settings

    _export(data_dir, http, database_url)
    os.environ["CENTREX_LOG_LEVEL"] = log_level
    os.environ["CENTREX_SIP_LISTEN"] = sip if sip is not None else "127.0.0.1:5060"
    settings = Settings()
    loop = "uvloop"
    try:
        import uvloop  # noqa: F401
    except ImportError:
        loop = "asyncio"
    uvicorn.run(
        "centrex.app:create_app",
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        loop=loop,
        http="httptools",
        log_level=log_level,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=5,  # event streams never end by themselves: stop waiting for them after 5 s
    )


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Apply migrations up to REVISION."""
    from centrex.config import Settings
    from centrex.db import migrate

    _export(data_dir, None, database_url)
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url, revision)
    typer.echo(f"database at {migrate.current_revision(settings.resolved_database_url)}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision (e.g. -1 or base).")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Revert migrations down to REVISION."""
    from centrex.config import Settings
    from centrex.db import migrate

    _export(data_dir, None, database_url)
    settings = Settings()
    migrate.downgrade(settings.resolved_database_url, revision)
    typer.echo(f"database at {migrate.current_revision(settings.resolved_database_url)}")


@db_app.command("current")
def db_current(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Print the database's migration revision."""
    from centrex.config import Settings
    from centrex.db import migrate

    _export(data_dir, None, database_url)
    typer.echo(migrate.current_revision(Settings().resolved_database_url) or "empty")
