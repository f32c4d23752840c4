"""One class per API collection (tenants, users, API keys, extensions, devices, numbers, audit log, events).

Each class only builds paths, query strings and bodies; the HTTP exchange, authentication and error mapping
are the ``Requester``'s (``CentrexClient``). Tenant-owned collections share ``TenantCollection``:
``list``/``iter_all``/``get``/``create``/``update``/``delete`` under ``/tenants/{tenant}/<plural>``, where
``tenant`` is a tenant id or code.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Protocol, cast
from urllib.parse import quote

from centrex.client.types import JSONObject, Page, QueryValue


class Requester(Protocol):
    """What the collections need from the client: one JSON request (``None`` for an empty answer)."""

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        json: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any: ...

    def upload(
        self,
        method: str,
        path: str,
        content: bytes,
        content_type: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
    ) -> Any: ...

    def download(self, path: str, *, params: Mapping[str, QueryValue] | None = None, accept: str = "*/*") -> bytes: ...


def _seg(value: str) -> str:
    return quote(str(value), safe="")


def _query(
    limit: int | None,
    offset: int | None,
    cursor: str | None,
    sort: str | None,
    filters: Mapping[str, QueryValue],
) -> dict[str, QueryValue]:
    params: dict[str, QueryValue] = {
        "limit": limit,
        "offset": offset,
        "cursor": cursor,
        "sort": sort,
        **filters,
    }
    return {k: ("true" if v else "false") if isinstance(v, bool) else v for k, v in params.items() if v is not None}


def _headers(**values: str | None) -> dict[str, str] | None:
    present = {k.replace("_", "-").title(): v for k, v in values.items() if v is not None}
    return present or None


class _Collection:
    """Paging shared by every list: one page (``_page``) or every item across pages (``_iterate``)."""

    def __init__(self, http: Requester) -> None:
        self._http = http

    def _page(
        self,
        path: str,
        limit: int | None,
        offset: int | None,
        cursor: str | None,
        sort: str | None,
        filters: Mapping[str, QueryValue],
    ) -> Page:
        return cast(Page, self._http.request("GET", path, params=_query(limit, offset, cursor, sort, filters)))

    def _iterate(
        self, path: str, page_size: int | None, sort: str | None, filters: Mapping[str, QueryValue]
    ) -> Iterator[JSONObject]:
        cursor: str | None = None
        while True:
            page = self._page(path, page_size, None, cursor, sort, filters)
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor or not page["items"]:
                return


class TenantCollection(_Collection):
    """A tenant-owned collection under ``/tenants/{tenant}/<plural>``."""

    plural: ClassVar[str]

    def _path(self, tenant: str, *parts: str) -> str:
        return "/".join(["/tenants", _seg(tenant), self.plural, *(_seg(p) for p in parts)])

    def list(
        self,
        tenant: str,
        *,
        limit: int | None = None,
        offset: int | None = None,
        cursor: str | None = None,
        sort: str | None = None,
        **filters: QueryValue,
    ) -> Page:
        """One page; ``filters`` are the collection's typed filters (e.g. ``number=``, ``q=``)."""
        return self._page(self._path(tenant), limit, offset, cursor, sort, filters)

    def iter_all(
        self, tenant: str, *, page_size: int | None = None, sort: str | None = None, **filters: QueryValue
    ) -> Iterator[JSONObject]:
        """Every matching object, following ``next_cursor`` page after page."""
        return self._iterate(self._path(tenant), page_size, sort, filters)

    def get(self, tenant: str, object_id: str) -> JSONObject:
        return cast(JSONObject, self._http.request("GET", self._path(tenant, object_id)))

    def create(self, tenant: str, data: Mapping[str, Any], *, idempotency_key: str | None = None) -> JSONObject:
        return cast(
            JSONObject,
            self._http.request(
                "POST", self._path(tenant), json=data, headers=_headers(idempotency_key=idempotency_key)
            ),
        )

    def update(
        self, tenant: str, object_id: str, data: Mapping[str, Any], *, if_match: str | None = None
    ) -> JSONObject:
        return cast(
            JSONObject,
            self._http.request("PATCH", self._path(tenant, object_id), json=data, headers=_headers(if_match=if_match)),
        )

    def delete(self, tenant: str, object_id: str, *, if_match: str | None = None) -> None:
        self._http.request("DELETE", self._path(tenant, object_id), headers=_headers(if_match=if_match))


class Users(TenantCollection):
    plural = "users"

    def set_password(self, tenant: str, user_id: str, password: str | None = None) -> JSONObject:
        """Set a password, or have one generated (returned once as ``password``) when ``password`` is None."""
        body = {"password": password} if password is not None else {}
        return cast(JSONObject, self._http.request("POST", self._path(tenant, user_id, "password"), json=body))


class ApiKeys(TenantCollection):
    plural = "api-keys"

    def rotate(self, tenant: str, key_id: str, *, overlap_seconds: int | None = None) -> JSONObject:
        """Issue a replacement key (secret in ``key``); the old one keeps working for the overlap."""
        body = {"overlap_seconds": overlap_seconds} if overlap_seconds is not None else {}
        return cast(JSONObject, self._http.request("POST", self._path(tenant, key_id, "rotate"), json=body))

    def revoke(self, tenant: str, key_id: str) -> JSONObject:
        return cast(JSONObject, self._http.request("POST", self._path(tenant, key_id, "revoke")))


class Extensions(TenantCollection):
    plural = "extensions"

    def sip_credentials(self, tenant: str, extension_id: str) -> JSONObject:
        return cast(JSONObject, self._http.request("GET", self._path(tenant, extension_id, "sip-credentials")))

    def rotate_sip_credentials(self, tenant: str, extension_id: str) -> JSONObject:
        path = self._path(tenant, extension_id, "sip-credentials", "rotate")
        return cast(JSONObject, self._http.request("POST", path))


class Devices(TenantCollection):
    plural = "devices"


class Numbers(TenantCollection):
    plural = "numbers"


class Tenants(_Collection):
    """The tenant tree (``/tenants``); ``tenant`` arguments are ids or codes."""

    def list(
        self,
        *,
        limit: int | None = None,
        offset: int | None = None,
        cursor: str | None = None,
        sort: str | None = None,
        **filters: QueryValue,
    ) -> Page:
        """One page; filters: ``parent_id``, ``kind``, ``status``, ``is_template``, ``q``."""
        return self._page("/tenants", limit, offset, cursor, sort, filters)

    def iter_all(
        self, *, page_size: int | None = None, sort: str | None = None, **filters: QueryValue
    ) -> Iterator[JSONObject]:
        return self._iterate("/tenants", page_size, sort, filters)

    def get(self, tenant: str) -> JSONObject:
        return cast(JSONObject, self._http.request("GET", f"/tenants/{_seg(tenant)}"))

    def create(self, data: Mapping[str, Any], *, idempotency_key: str | None = None) -> JSONObject:
        """Create a reseller or tenant; ``template_id`` in ``data`` creates it from a template tenant."""
        return cast(
            JSONObject,
            self._http.request("POST", "/tenants", json=data, headers=_headers(idempotency_key=idempotency_key)),
        )

    def update(self, tenant: str, data: Mapping[str, Any], *, if_match: str | None = None) -> JSONObject:
        return cast(
            JSONObject,
            self._http.request("PATCH", f"/tenants/{_seg(tenant)}", json=data, headers=_headers(if_match=if_match)),
        )

    def suspend(self, tenant: str, reason: str = "") -> JSONObject:
        return cast(
            JSONObject,
            self._http.request("POST", f"/tenants/{_seg(tenant)}/suspend", json={"reason": reason}),
        )

    def resume(self, tenant: str) -> JSONObject:
        return cast(JSONObject, self._http.request("POST", f"/tenants/{_seg(tenant)}/resume"))

    def delete(self, tenant: str, *, if_match: str | None = None) -> None:
        self._http.request("DELETE", f"/tenants/{_seg(tenant)}", headers=_headers(if_match=if_match))


class AuditLog(_Collection):
    """A tenant's audit log, or (``tenant=None``) the caller's whole sub-tree; newest first."""

    @staticmethod
    def _where(tenant: str | None) -> str:
        return f"/tenants/{_seg(tenant)}/audit-log" if tenant else "/audit-log"

    def list(
        self,
        tenant: str | None = None,
        *,
        limit: int | None = None,
        offset: int | None = None,
        cursor: str | None = None,
        sort: str | None = None,
        **filters: QueryValue,
    ) -> Page:
        """Filters: ``resource_type``, ``resource_id``, ``actor``, ``action``, ``since``/``until`` (ISO)."""
        return self._page(self._where(tenant), limit, offset, cursor, sort, filters)

    def iter_all(
        self,
        tenant: str | None = None,
        *,
        page_size: int | None = None,
        sort: str | None = None,
        **filters: QueryValue,
    ) -> Iterator[JSONObject]:
        return self._iterate(self._where(tenant), page_size, sort, filters)


class Events(_Collection):
    """A tenant's events in order (``seq``); filters: ``type`` (exact or a prefix ending in ``.``),
    ``resource_id``, ``after_seq``."""

    @staticmethod
    def _where(tenant: str) -> str:
        return f"/tenants/{_seg(tenant)}/events"

    def list(
        self,
        tenant: str,
        *,
        limit: int | None = None,
        offset: int | None = None,
        cursor: str | None = None,
        sort: str | None = None,
        **filters: QueryValue,
    ) -> Page:
        return self._page(self._where(tenant), limit, offset, cursor, sort, filters)

    def iter_all(
        self, tenant: str, *, page_size: int | None = None, sort: str | None = None, **filters: QueryValue
    ) -> Iterator[JSONObject]:
        return self._iterate(self._where(tenant), page_size, sort, filters)


__all__ = [
    "ApiKeys",
    "AuditLog",
    "Devices",
    "Events",
    "Extensions",
    "Numbers",
    "Requester",
    "TenantCollection",
    "Tenants",
    "Users",
]
