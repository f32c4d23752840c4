"""``CentrexClient``: a typed, synchronous httpx client for the native API (``/api/v1``).

It owns the HTTP exchange: base URL, authentication (``X-API-Key`` when an API key is given, else HTTP Basic),
timeouts, JSON in and out, and turning error answers into ``CentrexAPIError`` (see ``centrex.client.errors``).
The collections (``client.tenants``, ``client.extensions``, …) are in ``centrex.client.resources``.

    with CentrexClient("http://127.0.0.1:8080", api_key="cx_…") as api:
        ext = api.extensions.create("acme", {"number": "101", "name": "Alice"})
        for e in api.extensions.iter_all("acme"):
            print(e["number"], e["name"])
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, cast

import httpx

from centrex import __version__
from centrex.client.errors import CentrexAPIError, CentrexConnectionError, CentrexResponseError
from centrex.client.features import Ivrs, TimeConditions, VoicemailBoxes
from centrex.client.groups import Conferences, ExtensionGroups, PickupGroups, Queues, RingGroups
from centrex.client.media import Contacts, Media, MohClasses, Phonebooks, VoicemailMessages
from centrex.client.resources import ApiKeys, AuditLog, Devices, Events, Extensions, Numbers, Tenants, Users
from centrex.client.routing import CallerIdBlocks, DialPlan, InboundRoutes, OutboundRoutes, Routing, Trunks
from centrex.client.types import JSONObject, QueryValue

DEFAULT_URL = "http://127.0.0.1:8080"
API_PREFIX = "/api/v1"


class CentrexClient:
    """The native API over HTTP. Use it as a context manager, or call ``close()``.

    ``base_url`` is the server's root (``http://host:port``; a trailing ``/api/v1`` is accepted too).
    ``transport`` replaces the network (e.g. ``httpx.MockTransport`` in tests).
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        *,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        verify: bool = True,
    ) -> None:
        root = base_url.rstrip("/")
        if root.endswith(API_PREFIX):
            root = root[: -len(API_PREFIX)]
        self.base_url = root
        all_headers = {"User-Agent": f"centrex-client/{__version__}", "Accept": "application/json"}
        auth: httpx.Auth | None = None
        if api_key:
            all_headers["X-API-Key"] = api_key
        elif username:
            auth = httpx.BasicAuth(username, password or "")
        all_headers.update(headers or {})
        self._http = httpx.Client(
            base_url=root + API_PREFIX,
            headers=all_headers,
            auth=auth,
            timeout=timeout,
            transport=transport,
            verify=verify,
        )
        self.tenants = Tenants(self)
        self.users = Users(self)
        self.api_keys = ApiKeys(self)
        self.extensions = Extensions(self)
        self.devices = Devices(self)
        self.numbers = Numbers(self)
        self.audit = AuditLog(self)
        self.events = Events(self)
        # call routing
        self.inbound_routes = InboundRoutes(self)
        self.trunks = Trunks(self)
        self.outbound_routes = OutboundRoutes(self)
        self.caller_id_blocks = CallerIdBlocks(self)
        self.dial_plan = DialPlan(self)
        self.routing = Routing(self)
        # groups, queues, conferences
        self.ring_groups = RingGroups(self)
        self.pickup_groups = PickupGroups(self)
        self.extension_groups = ExtensionGroups(self)
        self.queues = Queues(self)
        self.conferences = Conferences(self)
        # IVRs, schedules, voicemail
        self.ivrs = Ivrs(self)
        self.time_conditions = TimeConditions(self)
        self.voicemail_boxes = VoicemailBoxes(self)
        # media and contacts
        self.media = Media(self)
        self.moh_classes = MohClasses(self)
        self.phonebooks = Phonebooks(self)
        self.contacts = Contacts(self)
        self.voicemail_messages = VoicemailMessages(self)

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CentrexClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ the one request path
    def _send(self, method: str, path: str, params: Mapping[str, QueryValue] | None, **kwargs: Any) -> httpx.Response:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self._http.request(method, path, params=query or None, **kwargs)
        except httpx.TimeoutException as exc:
            raise CentrexConnectionError(f"timed out talking to {self.base_url} ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise CentrexConnectionError(f"cannot reach {self.base_url}: {exc or type(exc).__name__}") from exc
        if response.is_error:
            raise CentrexAPIError.from_response(response)
        return response

    def _decode(self, method: str, path: str, response: httpx.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            ctype = response.headers.get("content-type", "?")
            raise CentrexResponseError(
                f"{method} {path}: expected JSON from {self.base_url}, got {ctype} (not a Centrex server?)"
            ) from exc

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        json: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one request to ``/api/v1<path>``; return the decoded JSON (``None`` when the answer is empty).

        Raises ``CentrexAPIError`` for 4xx/5xx, ``CentrexConnectionError`` when there is no answer and
        ``CentrexResponseError`` when a success answer is not JSON.
        """
        response = self._send(
            method,
            path,
            params,
            json=dict(json) if json is not None else None,
            headers=dict(headers) if headers else None,
        )
        return self._decode(method, path, response)

    def upload(
        self,
        method: str,
        path: str,
        content: bytes,
        content_type: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
    ) -> Any:
        """Send a raw body (audio, CSV) and return the decoded JSON answer."""
        response = self._send(method, path, params, content=content, headers={"Content-Type": content_type})
        return self._decode(method, path, response)

    def download(self, path: str, *, params: Mapping[str, QueryValue] | None = None, accept: str = "*/*") -> bytes:
        """GET a binary answer (audio, CSV) as bytes."""
        return self._send("GET", path, params, headers={"Accept": accept}).content

    # ------------------------------------------------------------------ auth
    def me(self) -> JSONObject:
        """Who the credential is: kind, role, tenant and permissions."""
        return cast(JSONObject, self.request("GET", "/auth/me"))
