"""The client's exceptions, in one tree:

CentrexError                 anything the client raises
├── CentrexConnectionError   the server could not be reached (refused, DNS, TLS, timeout)
├── CentrexResponseError     the server answered 2xx with something that is not the API's JSON
└── CentrexAPIError          the server answered 4xx/5xx; carries the RFC 9457 problem (status, code, detail,
                             field errors, request_id)
"""

from __future__ import annotations

from typing import Any

import httpx

from centrex.client.types import FieldError


class CentrexError(Exception):
    """Base of every error the Centrex client raises."""


class CentrexConnectionError(CentrexError):
    """The request did not get an HTTP answer (connection refused, name resolution, TLS, timeout)."""


class CentrexResponseError(CentrexError):
    """The server answered with a success status but a body that is not the API's JSON."""


class CentrexAPIError(CentrexError):
    """The API answered with an error status; the attributes mirror its ``application/problem+json`` body."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str = "",
        errors: list[FieldError] | None = None,
        request_id: str | None = None,
        problem: dict[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title
        self.errors: list[FieldError] = errors or []
        self.request_id = request_id
        self.problem: dict[str, Any] = problem or {}
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.status} {self.code}: {self.detail}"
        return f"{text} (request_id {self.request_id})" if self.request_id else text

    @classmethod
    def from_response(cls, response: httpx.Response) -> CentrexAPIError:
        """Build the error from a response: the problem document when there is one, else the status line."""
        status = response.status_code
        body: Any = None
        if response.content:
            try:
                body = response.json()
            except ValueError:
                body = None
        header_rid = response.headers.get("x-request-id")
        if not isinstance(body, dict):
            text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
            return cls(
                status,
                f"http_{status}",
                text or response.reason_phrase or f"HTTP {status}",
                title=response.reason_phrase,
                request_id=header_rid,
            )
        errors = [
            FieldError(field=str(e.get("field", "")), message=str(e.get("message", "")), code=str(e.get("code", "")))
            for e in body.get("errors") or []
            if isinstance(e, dict)
        ]
        rid = body.get("request_id")
        return cls(
            status,
            str(body.get("code") or f"http_{status}"),
            str(body.get("detail") or body.get("title") or response.reason_phrase or f"HTTP {status}"),
            title=str(body.get("title") or ""),
            errors=errors,
            request_id=rid if isinstance(rid, str) else header_rid,
            problem=body,
        )
