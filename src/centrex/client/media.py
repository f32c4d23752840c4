"""Client collections for media files (upload, text to speech, download), music-on-hold classes, phonebooks (CSV
import), contacts (find, CSV export) and voicemail messages."""

from __future__ import annotations

import mimetypes
from typing import Any, cast

from centrex.client.resources import Requester, TenantCollection, _headers, _seg
from centrex.client.types import JSONObject, Page, QueryValue


class Media(TenantCollection):
    plural = "media"

    def upload(self, tenant: str, filename: str, data: bytes, **meta: str | None) -> JSONObject:
        """Upload audio (WAV or MP3; recognised by content). ``meta``: name, kind, language, prompt_key."""
        ctype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        if not ctype.startswith("audio/"):
            ctype = "application/octet-stream"
        params: dict[str, QueryValue] = {k: v for k, v in meta.items() if v is not None}
        params.setdefault("name", filename.rsplit("/", 1)[-1])
        return cast(JSONObject, self._http.upload("POST", self._path(tenant), data, ctype, params=params))

    def tts(self, tenant: str, body: dict[str, Any]) -> JSONObject:
        """Make a prompt from text (``{"name": …, "text": …}`` plus optional voice/language)."""
        return cast(JSONObject, self._http.request("POST", self._path(tenant, "tts"), json=body))

    def audio(self, tenant: str, media_id: str) -> bytes:
        return self._http.download(self._path(tenant, media_id, "audio"), accept="audio/*")


class MohClasses(TenantCollection):
    plural = "moh-classes"


class Phonebooks(TenantCollection):
    plural = "phonebooks"

    def import_csv(
        self, tenant: str, phonebook_id: str, data: bytes, *, preview: bool = False, skip_invalid: bool = False
    ) -> JSONObject:
        params: dict[str, QueryValue] = {"preview": "true" if preview else None}
        params["skip_invalid"] = "true" if skip_invalid else None
        path = self._path(tenant, phonebook_id, "import")
        return cast(JSONObject, self._http.upload("POST", path, data, "text/csv", params=params))


class Contacts(TenantCollection):
    plural = "contacts"

    def find(self, tenant: str, number: str, **params: QueryValue) -> JSONObject:
        """Contacts whose number is, or ends with, the digits of ``number``."""
        query: dict[str, QueryValue] = {"number": number, **params}
        return cast(JSONObject, self._http.request("GET", self._path(tenant, "find"), params=query))

    def export_csv(self, tenant: str, **filters: QueryValue) -> bytes:
        return self._http.download(self._path(tenant, "export.csv"), params=filters, accept="text/csv")


class VoicemailMessages:
    """Messages of one voicemail box: ``/tenants/{tenant}/voicemail-boxes/{box}/messages``."""

    def __init__(self, http: Requester) -> None:
        self._http = http

    def _path(self, tenant: str, box_id: str, *parts: str) -> str:
        return "/".join(["/tenants", _seg(tenant), "voicemail-boxes", _seg(box_id), "messages", *map(_seg, parts)])

    def list(self, tenant: str, box_id: str, **filters: QueryValue) -> Page:
        return cast(Page, self._http.request("GET", self._path(tenant, box_id), params=filters))

    def get(self, tenant: str, box_id: str, message_id: str) -> JSONObject:
        return cast(JSONObject, self._http.request("GET", self._path(tenant, box_id, message_id)))

    def update(self, tenant: str, box_id: str, message_id: str, data: dict[str, Any]) -> JSONObject:
        return cast(JSONObject, self._http.request("PATCH", self._path(tenant, box_id, message_id), json=data))

    def delete(self, tenant: str, box_id: str, message_id: str, *, if_match: str | None = None) -> None:
        self._http.request("DELETE", self._path(tenant, box_id, message_id), headers=_headers(if_match=if_match))

    def audio(self, tenant: str, box_id: str, message_id: str) -> bytes:
        return self._http.download(self._path(tenant, box_id, message_id, "audio"), accept="audio/*")
