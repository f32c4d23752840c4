"""List conventions: ``limit``/``offset`` with ``X-Total-Count``, an opaque ``cursor``, ``sort``, hard maximum.

Every list runs a constant number of SQL statements whatever the page size: one statement returns the page and the
filtered total (as a scalar sub-query); a second runs only when the page is empty. A cursor (from ``next_cursor``)
continues after the last row of the previous page on the same sort (keyset pagination) and ignores ``offset``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from starlette.responses import Response

from centrex.db.types import UTCDateTime
from centrex.domain.errors import InvalidInput

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
MAX_OFFSET = 1_000_000

T = TypeVar("T")


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int
    cursor: str | None
    sort: str | None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size (1–{MAX_LIMIT}).")] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip (ignored with `cursor`).")] = 0,
    cursor: Annotated[
        str | None, Query(max_length=512, description="Opaque cursor from a previous page's `next_cursor`.")
    ] = None,
    sort: Annotated[
        str | None,
        Query(max_length=64, pattern=r"^-?[a-z_]{1,60}$", description="Sort field; prefix `-` for descending."),
    ] = None,
) -> PageParams:
    return PageParams(limit, offset, cursor, sort)


class Page(BaseModel, Generic[T]):
    """One page of a list; the same total is in the `X-Total-Count` header."""

    items: list[T]
    total: int = Field(description="Number of matching objects (all pages).")
    limit: int
    offset: int
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page; null on the last page.")


def _encode_cursor(sort: str, value: Any, last_id: str) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = orjson.dumps([sort, value, last_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[Any, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        csort, value, last_id = orjson.loads(raw)
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        raise InvalidInput.field("cursor", "not a valid cursor", "invalid_cursor") from None
    if csort != sort or not isinstance(last_id, str):
        raise InvalidInput.field("cursor", "cursor belongs to a different sort order", "invalid_cursor")
    return value, last_id


@dataclass
class PageResult(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    next_cursor: str | None

    def to_page(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
            "next_cursor": self.next_cursor,
        }


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    id_column: InstrumentedAttribute[Any],
    params: PageParams,
    sortable: dict[str, InstrumentedAttribute[Any]],
    default_sort: str,
) -> PageResult[Any]:
    """Run ``stmt`` (a filtered ``select(Model)``) as one page; ``sortable`` maps sort names to columns."""
    sort = params.sort or default_sort
    desc = sort.startswith("-")
    name = sort.lstrip("-")
    column = sortable.get(name)
    if column is None:
        raise InvalidInput.field("sort", f"must be one of {', '.join(sorted(sortable))} (optionally with -)")
    count_stmt = select(func.count()).select_from(stmt.order_by(None).subquery())
    page_stmt = stmt
    offset = params.offset
    if params.cursor:
        value, last_id = _decode_cursor(params.cursor, sort)
        if isinstance(column.type, UTCDateTime) and isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                raise InvalidInput.field("cursor", "not a valid cursor", "invalid_cursor") from None
        after: ColumnElement[bool]
        if column is id_column:
            after = id_column < last_id if desc else id_column > last_id
        elif desc:
            after = or_(column < value, and_(column == value, id_column < last_id))
        else:
            after = or_(column > value, and_(column == value, id_column > last_id))
        page_stmt = page_stmt.where(after)
        offset = 0
    order = [column.desc(), id_column.desc()] if desc else [column.asc(), id_column.asc()]
    if column is id_column:
        order = order[:1]
    page_stmt = (
        page_stmt.add_columns(count_stmt.scalar_subquery().label("_total"))
        .order_by(*order)
        .limit(params.limit)
        .offset(offset)
    )
    rows = (await session.execute(page_stmt)).all()
    if rows:
        total = int(rows[0][-1])
        items = [row[0] for row in rows]
    else:
        total = int(await session.scalar(count_stmt) or 0)
        items = []
    next_cursor = None
    if len(items) == params.limit and (params.cursor or offset + len(items) < total):
        last = items[-1]
        next_cursor = _encode_cursor(sort, getattr(last, column.key), getattr(last, id_column.key))
    return PageResult(items, total, params.limit, params.offset if not params.cursor else 0, next_cursor)


def page_body(response: Response, result: PageResult[Any], present: Callable[[Any], Any]) -> dict[str, Any]:
    """The list answer: headers (``X-Total-Count``, ``X-Next-Cursor``) set, items presented."""
    response.headers["X-Total-Count"] = str(result.total)
    if result.next_cursor:
        response.headers["X-Next-Cursor"] = result.next_cursor
    return {**result.to_page(), "items": [present(item) for item in result.items]}
