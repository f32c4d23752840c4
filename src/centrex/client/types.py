"""Shapes shared by the client: JSON objects, query values, a list page and a problem's field error."""

from __future__ import annotations

from typing import Any, TypeAlias, TypedDict

JSONObject: TypeAlias = dict[str, Any]
"""One API object (tenant, extension, …) as decoded JSON."""

QueryValue: TypeAlias = str | int | float | bool | None
"""A list filter value; ``None`` means "not filtered"."""


class Page(TypedDict):
    """One page of a list, as every list endpoint returns it."""

    items: list[JSONObject]
    total: int
    limit: int
    offset: int
    next_cursor: str | None


class FieldError(TypedDict):
    """One entry of a problem's ``errors``: which input field is wrong and why."""

    field: str
    message: str
    code: str
