"""The reference for ``api_list``: a bare FastAPI endpoint that returns a Centrex extension page from memory.

It serves ``GET /api/v1/tenants/{tenant_id}/extensions`` with the same ``response_model`` as Centrex
(``Page[ExtensionOut]``), returning the page that Centrex itself answered once (read from the JSON file named by
``BENCH_BARE_PAYLOAD``) as ``ExtensionOut`` instances, so FastAPI's response validation and JSON serialisation do the
same work as in Centrex. No authentication, no middleware, no database.

It is served exactly as ``centrex serve`` serves Centrex: uvicorn, one worker, uvloop, httptools, no access log.

    BENCH_BARE_PAYLOAD=page.json python bench/bare_app.py --http 127.0.0.1:8081
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query, Response

from centrex.api.pagination import Page
from centrex.resources.extensions.schemas import ExtensionOut


def create_app() -> FastAPI:
    document: dict[str, Any] = json.loads(Path(os.environ["BENCH_BARE_PAYLOAD"]).read_text())
    items = [ExtensionOut.model_validate(item) for item in document["items"]]
    page = {**document, "items": items}
    total = str(document["total"])
    next_cursor = document.get("next_cursor")

    app = FastAPI(title="bare reference", openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/v1/tenants/{tenant_id}/extensions", response_model=Page[ExtensionOut])
    async def list_extensions(
        tenant_id: str, response: Response, limit: Annotated[int, Query(ge=1, le=500)] = 50
    ) -> dict[str, Any]:
        response.headers["X-Total-Count"] = total
        if next_cursor:
            response.headers["X-Next-Cursor"] = next_cursor
        return page

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--http", default="127.0.0.1:8081", help="HOST:PORT")
    args = parser.parse_args()
    host, _, port = args.http.rpartition(":")
    # The same options as centrex.cli.serve.serve().
    uvicorn.run(
        "bare_app:create_app",
        factory=True,
        app_dir=str(Path(__file__).resolve().parent),
        host=host,
        port=int(port),
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
