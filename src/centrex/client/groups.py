"""Client collections for ring groups, pickup groups, extension groups, queues (with agents) and conferences."""

from __future__ import annotations

from typing import Any, cast

from centrex.client.resources import TenantCollection, _headers
from centrex.client.types import JSONObject, Page


class RingGroups(TenantCollection):
    plural = "ring-groups"

    def members(self, tenant: str, group_id: str) -> JSONObject:
        return cast(JSONObject, self._http.request("GET", self._path(tenant, group_id, "members")))

    def set_members(self, tenant: str, group_id: str, members: list[Any]) -> JSONObject:
        """Replace the members (extension ids or numbers, or E.164 outside numbers), in hunt order."""
        body = {"members": members}
        return cast(JSONObject, self._http.request("PUT", self._path(tenant, group_id, "members"), json=body))


class PickupGroups(TenantCollection):
    plural = "pickup-groups"


class ExtensionGroups(TenantCollection):
    plural = "extension-groups"

    def members(self, tenant: str, group_id: str) -> JSONObject:
        return cast(JSONObject, self._http.request("GET", self._path(tenant, group_id, "members")))


class Queues(TenantCollection):
    plural = "queues"

    def agents(self, tenant: str, queue_id: str) -> Page:
        return cast(Page, self._http.request("GET", self._path(tenant, queue_id, "agents"), params={"limit": 500}))

    def add_agent(self, tenant: str, queue_id: str, data: dict[str, Any]) -> JSONObject:
        return cast(JSONObject, self._http.request("POST", self._path(tenant, queue_id, "agents"), json=data))

    def agent_state(
        self, tenant: str, queue_id: str, agent_id: str, action: str, *, reason: str | None = None
    ) -> JSONObject:
        """``login``, ``logout``, ``pause`` (with an optional reason) or ``unpause`` one agent of one queue."""
        body = {"reason": reason} if action == "pause" and reason else None
        return cast(
            JSONObject,
            self._http.request("POST", self._path(tenant, queue_id, "agents", agent_id, action), json=body),
        )

    def remove_agent(self, tenant: str, queue_id: str, agent_id: str, *, if_match: str | None = None) -> None:
        self._http.request(
            "DELETE", self._path(tenant, queue_id, "agents", agent_id), headers=_headers(if_match=if_match)
        )


class Conferences(TenantCollection):
    plural = "conferences"
