"""Client collections for IVRs, time conditions and voicemail boxes (CRUD from ``TenantCollection``, plus each
resource's extra endpoints: destinations, schedule state and office mode, mailbox PIN)."""

from __future__ import annotations

from typing import cast

from centrex.client.resources import TenantCollection, _headers
from centrex.client.types import JSONObject


class Ivrs(TenantCollection):
    plural = "ivrs"

    def destinations(self, tenant: str, ivr_id: str) -> JSONObject:
        """Every exit of the menu (options, timeout, invalid) with the names and numbers of its targets."""
        return cast(JSONObject, self._http.request("GET", self._path(tenant, ivr_id, "destinations")))


class TimeConditions(TenantCollection):
    plural = "time-conditions"

    def state(self, tenant: str, condition_id: str, *, at: str | None = None) -> JSONObject:
        """The state (open/closed/holiday) at ``at`` (ISO-8601 with a zone; default now) and where calls go."""
        params = {"at": at} if at else None
        return cast(JSONObject, self._http.request("GET", self._path(tenant, condition_id, "state"), params=params))

    def set_mode(
        self,
        tenant: str,
        condition_id: str,
        mode: str,
        *,
        until: str | None = None,
        if_match: str | None = None,
    ) -> JSONObject:
        """Office mode: ``open``, ``closed`` or ``holiday`` (optionally ``until`` a time), or ``auto``."""
        body: dict[str, str] = {"mode": mode}
        if until is not None:
            body["until"] = until
        return cast(
            JSONObject,
            self._http.request(
                "POST", self._path(tenant, condition_id, "mode"), json=body, headers=_headers(if_match=if_match)
            ),
        )

    def destinations(self, tenant: str, condition_id: str) -> JSONObject:
        """The open, closed and holiday destinations with the names and numbers of their targets."""
        return cast(JSONObject, self._http.request("GET", self._path(tenant, condition_id, "destinations")))


class VoicemailBoxes(TenantCollection):
    plural = "voicemail-boxes"

    def set_pin(self, tenant: str, box_id: str, pin: str | None, *, if_match: str | None = None) -> JSONObject:
        """Set the box's PIN, or clear it with ``None`` (a personal box then uses its extension's PIN)."""
        return cast(
            JSONObject,
            self._http.request(
                "POST", self._path(tenant, box_id, "pin"), json={"pin": pin}, headers=_headers(if_match=if_match)
            ),
        )
