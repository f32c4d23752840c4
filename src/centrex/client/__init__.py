"""Typed HTTP client for the Centrex native API (used by the ``centrex`` CLI; imports no server code)."""

from centrex.client.client import DEFAULT_URL, CentrexClient
from centrex.client.errors import CentrexAPIError, CentrexConnectionError, CentrexError, CentrexResponseError
from centrex.client.resources import TenantCollection
from centrex.client.types import FieldError, JSONObject, Page, QueryValue

__all__ = [
    "DEFAULT_URL",
    "CentrexAPIError",
    "CentrexClient",
    "CentrexConnectionError",
    "CentrexError",
    "CentrexResponseError",
    "FieldError",
    "JSONObject",
    "Page",
    "QueryValue",
    "TenantCollection",
]
