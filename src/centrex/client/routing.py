"""Client collections for call routing: inbound routes, trunks, outbound routes, caller-ID blocks, the dial plan
and the call-flow resolver."""

from __future__ import annotations

from typing import Any, cast

from centrex.client.resources import Requester, TenantCollection, _seg
from centrex.client.types import JSONObject, Page, QueryValue


class InboundRoutes(TenantCollection):
    plural = "inbound-routes"


class Trunks(TenantCollection):
    plural = "trunks"

    def available(self, tenant: str, **filters: QueryValue) -> Page:
        """The tenant's own trunks and those shared with it from above (no credentials shown)."""
        return cast(Page, self._http.request("GET", self._path(tenant, "available"), params=filters))


class OutboundRoutes(TenantCollection):
    plural = "outbound-routes"


class CallerIdBlocks(TenantCollection):
    plural = "caller-id-blocks"


class DialPlan:
    """The numbers a tenant's dial plan uses, and free extension numbers."""

    def __init__(self, http: Requester) -> None:
        self._http = http

    def numbers(self, tenant: str) -> JSONObject:
        return cast(JSONObject, self._http.request("GET", f"/tenants/{_seg(tenant)}/dial-plan/numbers"))

    def free(self, tenant: str, *, limit: int | None = None, start: int | None = None) -> JSONObject:
        params: dict[str, QueryValue] = {"limit": limit, "from": start}
        return cast(JSONObject, self._http.request("GET", f"/tenants/{_seg(tenant)}/dial-plan/free", params=params))


class Routing:
    """What happens to a call: the resolver with its explanation."""

    def __init__(self, http: Requester) -> None:
        self._http = http

    def resolve(self, tenant: str, body: dict[str, Any]) -> JSONObject:
        return cast(JSONObject, self._http.request("POST", f"/tenants/{_seg(tenant)}/routing/resolve", json=body))

    def resolve_did(self, body: dict[str, Any]) -> JSONObject:
        return cast(JSONObject, self._http.request("POST", "/routing/resolve", json=body))
