"""Client-side digest authentication (RFC 3261 §22.2, RFC 7616, RFC 8760): answering a 401/407 challenge.

- ``answer_challenge(challenge, request, username, password)`` → ``(header name, value)``: ``Authorization`` for a
  401 (WWW-Authenticate), ``Proxy-Authorization`` for a 407 (Proxy-Authenticate). Among several challenges the
  strongest supported one is answered (RFC 8760 §2.4: SHA-512-256, SHA-256, MD5, each before its ``-sess``);
  qop ``auth`` when offered, else the RFC 2069 form; challenges we cannot parse or use are skipped.
- ``with_credentials(request, challenge, username, password)`` → a copy of the request to send again: the credentials
  added (replacing any earlier ones for the same realm), CSeq + 1 and a new top Via branch (§8.1.3.5, §22.2), so it is
  a new transaction. Any method (REGISTER, INVITE, …).

No I/O. Errors: ``ClientAuthError`` (an ``AuthError``) when there is nothing we can answer: a response that is not a
401/407, no challenge header, only malformed challenges or unsupported algorithms/qop values.
"""

from __future__ import annotations

from centrex.sip.auth import AuthError, Challenge, Credentials, authorize, choose_challenge
from centrex.sip.message import Request, Response, split_list
from centrex.sip.message.fields import parse_vias
from centrex.sip.message.model import ParseError
from centrex.sip.transaction import new_branch

__all__ = ["ClientAuthError", "answer_challenge", "challenge_header", "pick_challenge", "with_credentials"]

_HEADERS = {401: ("WWW-Authenticate", "Authorization"), 407: ("Proxy-Authenticate", "Proxy-Authorization")}


class ClientAuthError(AuthError):
    """We cannot answer this challenge (not a 401/407, malformed, or only unsupported algorithms/qop)."""


def challenge_header(challenge: Response) -> tuple[str, str]:
    """(challenge header, credentials header) for a 401 or 407."""
    names = _HEADERS.get(challenge.status)
    if names is None:
        raise ClientAuthError(f"a {challenge.status} response is not a digest challenge (401/407 expected)")
    return names


def pick_challenge(challenge: Response) -> Challenge:
    """The challenge to answer among the response's WWW-/Proxy-Authenticate fields (strongest usable first)."""
    source, _ = challenge_header(challenge)
    values = challenge.headers.get_all(source)
    if not values:
        raise ClientAuthError(f"{challenge.status} without {source}")
    usable: list[Challenge] = []
    problems: list[str] = []
    for value in values:
        try:
            parsed = Challenge.parse(value)
        except AuthError as exc:  # another scheme (Basic, Bearer), unknown algorithm, malformed
            problems.append(str(exc))
            continue
        if parsed.qop and "auth" not in parsed.qop and "auth-int" not in parsed.qop:
            problems.append(f"no supported qop in {parsed.qop}")
            continue
        usable.append(parsed)
    if not usable:
        raise ClientAuthError(f"no usable {source} challenge: {'; '.join(problems)}")
    try:
        return choose_challenge(usable)
    except AuthError as exc:
        raise ClientAuthError(str(exc)) from None


def answer_challenge(
    challenge: Response,
    request: Request,
    username: str,
    password: str,
    *,
    cnonce: str | None = None,
    nc: int = 1,
) -> tuple[str, str]:
    """The credentials header answering ``challenge`` for ``request`` (whose method, Request-URI and body are
    signed): ``("Authorization" | "Proxy-Authorization", "Digest ...")``."""
    _, target = challenge_header(challenge)
    chosen = pick_challenge(challenge)
    try:
        credentials = authorize(
            chosen,
            username=username,
            method=request.method,
            uri=request.uri,
            password=password,
            nc=nc,
            cnonce=cnonce,
            body=request.body,
        )
    except AuthError as exc:
        raise ClientAuthError(str(exc)) from None
    return target, str(credentials)


def _realm_of(value: str) -> str | None:
    try:
        return Credentials.parse(value).realm
    except AuthError:
        return None


def with_credentials(
    request: Request,
    challenge: Response,
    username: str,
    password: str,
    *,
    cnonce: str | None = None,
    nc: int = 1,
) -> Request:
    """A copy of ``request`` to send again with credentials (§22.2): the header added (one for the same realm
    replaced), CSeq incremented, a new branch in the top Via. Call-ID, tags and the body are kept."""
    try:
        number, method = request.cseq
    except ParseError as exc:
        raise ClientAuthError(f"cannot resend the request: {exc}") from None
    name, value = answer_challenge(challenge, request, username, password, cnonce=cnonce, nc=nc)
    realm = Credentials.parse(value).realm
    headers = request.headers.copy()
    kept = [v for v in headers.get_all(name) if _realm_of(v) != realm]
    headers.remove(name)
    for old in kept:
        headers.add(name, old)
    headers.add(name, value)
    headers.set("CSeq", f"{number + 1} {method}")
    top = next((h for h in headers if h.key == "via"), None)
    if top is not None:
        top.value = _rebranch(top.value)
    return Request(headers=headers, body=request.body, version=request.version, method=request.method, uri=request.uri)


def _rebranch(value: str) -> str:
    """A Via field value whose first via-parm has a fresh branch (added when it had none)."""
    try:
        parse_vias([value])
    except ParseError as exc:
        raise ClientAuthError(f"cannot resend the request: {exc}") from None
    first, *rest = split_list(value)
    parts = first.split(";")
    params = [p for p in parts[1:] if not p.strip().lower().startswith("branch=")]
    return ", ".join([";".join([parts[0], *params, f"branch={new_branch()}"]), *rest])
