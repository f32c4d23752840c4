"""HTTP Digest authentication as SIP uses it (RFC 3261 §22, RFC 2617, RFC 7616, RFC 8760).

- ``Challenge`` (WWW-Authenticate / Proxy-Authenticate) and ``Credentials`` (Authorization / Proxy-Authorization):
  ``parse(value)`` and ``str(x)``; parameter names are case-insensitive, values tokens or quoted strings with ``\\``
  escapes.
- Client side: ``authorize(challenge, ...)`` computes the credentials for a request (password or stored HA1).
- Server side: ``DigestAuthenticator`` issues challenges and verifies credentials against a stored HA1, using a
  stateless ``NonceManager`` (nonce = timestamp + salt + HMAC, so authenticity and age are checked without storage)
  and a bounded ``NonceCountTracker`` (nonce-count must grow per nonce: replay protection).

Algorithms: MD5, MD5-sess, SHA-256, SHA-256-sess, SHA-512-256, SHA-512-256-sess; qop ``auth``, ``auth-int``, or none
(RFC 2069 clients). Errors: ``AuthError`` (a ``ValueError``) for malformed headers; ``status`` is 400.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "ALGORITHMS",
    "AuthError",
    "Challenge",
    "Credentials",
    "DigestAuthenticator",
    "NonceCountTracker",
    "NonceManager",
    "NonceState",
    "Outcome",
    "Verdict",
    "authorize",
    "choose_challenge",
    "compute_ha1",
    "compute_response",
    "hash_username",
    "parse_params",
    "quote",
]


class AuthError(ValueError):
    """A malformed challenge or credentials header, or one we cannot act on (unknown algorithm)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# RFC 7616 §6.1 hash algorithms registry (RFC 8760 §2 brings SHA-256 and SHA-512/256 to SIP).
_HASHES: dict[str, str] = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256"}
ALGORITHMS: tuple[str, ...] = tuple(a + s for a in _HASHES for s in ("", "-sess"))
_CANONICAL_ALGORITHM = {a.upper(): a for a in ALGORITHMS}
# RFC 8760 §2.4: a client picks the first challenge it supports in this order (strongest first).
_PREFERENCE = ("SHA-512-256", "SHA-512-256-sess", "SHA-256", "SHA-256-sess", "MD5", "MD5-sess")


def _algorithm(name: str | None) -> str:
    """Canonical algorithm name; absent means MD5 (RFC 2617 §3.2.1). Unknown → AuthError."""
    if name is None:
        return "MD5"
    canonical = _CANONICAL_ALGORITHM.get(name.upper())
    if canonical is None:
        raise AuthError(f"unsupported digest algorithm {name!r}")
    return canonical


def _bytes(text: str) -> bytes:
    """UTF-8, with bytes that arrived undecodable (surrogateescape) restored; any other lone surrogate is encoded
    as such rather than raising."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _hash(algorithm: str, data: str | bytes) -> str:
    raw = _bytes(data) if isinstance(data, str) else data
    return hashlib.new(_HASHES[algorithm.removesuffix("-sess")], raw).hexdigest()


# --- header syntax (RFC 7235 §2.1 auth-param, RFC 7230 §3.2.6 quoted-string) -----------------------------------

_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_WS = " \t\r\n"
_MAX_HEADER = 16384


def quote(value: str) -> str:
    """A quoted-string: ``"`` and ``\\`` escaped with a backslash."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _token_or_quoted(value: str) -> str:
    return value if _TOKEN_RE.fullmatch(value) else quote(value)


def parse_params(text: str) -> tuple[str, list[tuple[str, str, bool]]]:
    """Split ``<scheme> name=value, name="quoted", ...`` into the scheme and ``(lower-name, value, was_quoted)``.
    Empty list elements are allowed (RFC 7230 §7); a repeated parameter is an error (RFC 7235 §2.1)."""
    if not isinstance(text, str):
        raise AuthError("header value must be text")
    if len(text) > _MAX_HEADER:
        raise AuthError("header value too long")
    pos = len(text) - len(text.lstrip(_WS))
    m = _TOKEN_RE.match(text, pos)
    if m is None:
        raise AuthError("missing authentication scheme")
    scheme = m.group()
    pos = m.end()
    if pos < len(text) and text[pos] not in _WS:
        raise AuthError(f"invalid authentication scheme {text[: pos + 1]!r}")
    params: list[tuple[str, str, bool]] = []
    seen: set[str] = set()
    need_comma = False
    while True:
        while pos < len(text) and (text[pos] in _WS or text[pos] == ","):
            if text[pos] == ",":
                need_comma = False
            pos += 1
        if pos >= len(text):
            break
        if need_comma:
            raise AuthError(f"expected ',' at {pos}")
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise AuthError(f"expected a parameter name at {pos}")
        name = m.group().lower()
        pos = m.end()
        while pos < len(text) and text[pos] in _WS:
            pos += 1
        if pos >= len(text) or text[pos] != "=":
            raise AuthError(f"parameter {name!r} has no value")
        pos += 1
        while pos < len(text) and text[pos] in _WS:
            pos += 1
        if pos < len(text) and text[pos] == '"':
            value, pos = _quoted(text, pos)
            quoted = True
        else:
            m = _TOKEN_RE.match(text, pos)
            if m is None:
                raise AuthError(f"parameter {name!r} has an invalid value")
            value, pos, quoted = m.group(), m.end(), False
        if name in seen:
            raise AuthError(f"repeated parameter {name!r}")
        seen.add(name)
        params.append((name, value, quoted))
        need_comma = True
    return scheme, params


def _quoted(text: str, pos: int) -> tuple[str, int]:
    out: list[str] = []
    i = pos + 1
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return "".join(out), i + 1
        if ch == "\\":
            if i + 1 >= len(text) or text[i + 1] in "\r\n":
                break
            out.append(text[i + 1])
            i += 2
            continue
        if ch in "\r\n\x00":
            raise AuthError("control character in a quoted string")
        out.append(ch)
        i += 1
    raise AuthError("unterminated quoted string")


def _digest_params(value: str) -> dict[str, str]:
    scheme, params = parse_params(value)
    if scheme.lower() != "digest":
        raise AuthError(f"unsupported authentication scheme {scheme!r}")
    return {name: v for name, v, _ in params}


def _nc(value: str) -> int:
    # RFC 7616 §3.4: nc is exactly 8 hex digits.
    if not re.fullmatch(r"[0-9A-Fa-f]{8}", value):
        raise AuthError(f"invalid nonce count {value!r}")
    return int(value, 16)


def _bool(value: str, name: str) -> bool:
    low = value.lower()
    if low not in ("true", "false"):
        raise AuthError(f"invalid {name} {value!r}")
    return low == "true"


# --- challenge and credentials ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Challenge:
    """``Digest realm=..., nonce=..., ...`` in WWW-Authenticate / Proxy-Authenticate (RFC 7616 §3.3)."""

    realm: str
    nonce: str
    algorithm: str | None = None  # None: not sent (means MD5)
    qop: tuple[str, ...] = ()  # empty: RFC 2069 compatibility mode
    opaque: str | None = None
    stale: bool = False
    domain: str | None = None
    userhash: bool = False
    charset: str | None = None
    extra: list[tuple[str, str]] = field(default_factory=list)  # unknown parameters, in order (RFC 7616 §3.3)

    @classmethod
    def parse(cls, value: str) -> Challenge:
        p = _digest_params(value)
        if "realm" not in p or "nonce" not in p:
            raise AuthError("challenge without realm or nonce")
        qop = tuple(q.strip().lower() for q in p["qop"].split(",") if q.strip()) if "qop" in p else ()
        known = {"realm", "nonce", "algorithm", "qop", "opaque", "stale", "domain", "userhash", "charset"}
        return cls(
            realm=p["realm"],
            nonce=p["nonce"],
            algorithm=_algorithm(p["algorithm"]) if "algorithm" in p else None,
            qop=qop,
            opaque=p.get("opaque"),
            stale=_bool(p["stale"], "stale") if "stale" in p else False,
            domain=p.get("domain"),
            userhash=_bool(p["userhash"], "userhash") if "userhash" in p else False,
            charset=p.get("charset"),
            extra=[(k, v) for k, v in p.items() if k not in known],
        )

    @property
    def effective_algorithm(self) -> str:
        return _algorithm(self.algorithm)

    def __str__(self) -> str:
        parts = [f"realm={quote(self.realm)}"]
        if self.domain is not None:
            parts.append(f"domain={quote(self.domain)}")
        parts.append(f"nonce={quote(self.nonce)}")
        if self.opaque is not None:
            parts.append(f"opaque={quote(self.opaque)}")
        if self.stale:
            parts.append("stale=true")
        if self.algorithm is not None:
            parts.append(f"algorithm={self.algorithm}")
        if self.qop:
            parts.append(f"qop={quote(','.join(self.qop))}")
        if self.charset is not None:
            parts.append(f"charset={_token_or_quoted(self.charset)}")
        if self.userhash:
            parts.append("userhash=true")
        parts.extend(f"{k}={quote(v)}" for k, v in self.extra)
        return "Digest " + ", ".join(parts)


@dataclass(slots=True)
class Credentials:
    """``Digest username=..., response=...`` in Authorization / Proxy-Authorization (RFC 7616 §3.4)."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str | None = None
    qop: str | None = None  # None: RFC 2069 response (no cnonce, no nc)
    cnonce: str | None = None
    nc: int | None = None
    opaque: str | None = None
    userhash: bool = False
    extra: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def parse(cls, value: str) -> Credentials:
        p = _digest_params(value)
        missing = [k for k in ("username", "realm", "nonce", "uri", "response") if k not in p]
        if missing:
            raise AuthError(f"credentials without {', '.join(missing)}")
        qop = p["qop"].lower() if "qop" in p else None
        if qop is not None and ("cnonce" not in p or "nc" not in p):
            raise AuthError("qop given without cnonce and nc (RFC 7616 §3.4)")
        known = {"username", "realm", "nonce", "uri", "response", "algorithm", "qop", "cnonce", "nc", "opaque"}
        return cls(
            username=p["username"],
            realm=p["realm"],
            nonce=p["nonce"],
            uri=p["uri"],
            response=p["response"],
            algorithm=_algorithm(p["algorithm"]) if "algorithm" in p else None,
            qop=qop,
            cnonce=p.get("cnonce"),
            nc=_nc(p["nc"]) if "nc" in p else None,
            opaque=p.get("opaque"),
            userhash=_bool(p["userhash"], "userhash") if "userhash" in p else False,
            extra=[(k, v) for k, v in p.items() if k not in known | {"userhash"}],
        )

    @property
    def effective_algorithm(self) -> str:
        return _algorithm(self.algorithm)

    @property
    def nc_text(self) -> str | None:
        return f"{self.nc:08x}" if self.nc is not None else None

    def __str__(self) -> str:
        # RFC 7616 §3.4: username, realm, nonce, uri, response, cnonce, opaque quoted; algorithm, qop, nc not.
        parts = [
            f"username={quote(self.username)}",
            f"realm={quote(self.realm)}",
            f"nonce={quote(self.nonce)}",
            f"uri={quote(self.uri)}",
            f"response={quote(self.response)}",
        ]
        if self.algorithm is not None:
            parts.append(f"algorithm={self.algorithm}")
        if self.cnonce is not None:
            parts.append(f"cnonce={quote(self.cnonce)}")
        if self.opaque is not None:
            parts.append(f"opaque={quote(self.opaque)}")
        if self.qop is not None:
            parts.append(f"qop={_token_or_quoted(self.qop)}")
        if self.nc is not None:
            parts.append(f"nc={self.nc_text}")
        if self.userhash:
            parts.append("userhash=true")
        parts.extend(f"{k}={quote(v)}" for k, v in self.extra)
        return "Digest " + ", ".join(parts)


# --- response computation (RFC 7616 §3.4.1–§3.4.3, RFC 2617 §3.2.2) --------------------------------------------


def hash_username(username: str, realm: str, algorithm: str = "SHA-256") -> str:
    """RFC 7616 §3.4.4: ``H(username ":" realm)`` sent when the server asked for ``userhash=true``."""
    return _hash(_algorithm(algorithm), f"{username}:{realm}")


def compute_ha1(username: str, realm: str, password: str, algorithm: str = "MD5") -> str:
    """``H(username:realm:password)``: what a registrar stores instead of the password (one per algorithm)."""
    return _hash(_algorithm(algorithm), f"{username}:{realm}:{password}")


def compute_response(
    *,
    ha1: str,
    algorithm: str,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None = None,
    nc: int | None = None,
    cnonce: str | None = None,
    body: bytes = b"",
) -> str:
    """The request-digest. ``ha1`` is ``H(username:realm:password)``; for ``-sess`` algorithms it is turned into
    ``H(ha1:nonce:cnonce)`` here (RFC 7616 §3.4.2). A2 is ``method:uri`` (``:H(body)`` added for auth-int, §3.4.3)."""
    alg = _algorithm(algorithm)
    if alg.endswith("-sess"):
        if cnonce is None:
            raise AuthError(f"{alg} needs a cnonce")
        ha1 = _hash(alg, f"{ha1}:{nonce}:{cnonce}")
    if qop == "auth-int":
        a2 = f"{method}:{uri}:{_hash(alg, body)}"
    elif qop in (None, "auth"):
        a2 = f"{method}:{uri}"
    else:
        raise AuthError(f"unsupported qop {qop!r}")
    ha2 = _hash(alg, a2)
    if qop is None:  # RFC 2069 / RFC 2617 §3.2.2.1 without qop
        return _hash(alg, f"{ha1}:{nonce}:{ha2}")
    if nc is None or cnonce is None:
        raise AuthError("qop needs nc and cnonce")
    return _hash(alg, f"{ha1}:{nonce}:{nc:08x}:{cnonce}:{qop}:{ha2}")


def choose_challenge(challenges: Iterable[Challenge]) -> Challenge:
    """The challenge a client answers among several (RFC 8760 §2.4: the strongest algorithm it supports)."""
    usable = [c for c in challenges if (c.algorithm or "MD5") in _PREFERENCE]
    if not usable:
        raise AuthError("no challenge with a supported algorithm")
    return min(usable, key=lambda c: _PREFERENCE.index(c.algorithm or "MD5"))


def authorize(
    challenge: Challenge,
    *,
    username: str,
    method: str,
    uri: str,
    password: str | None = None,
    ha1: str | None = None,
    nc: int = 1,
    cnonce: str | None = None,
    body: bytes = b"",
) -> Credentials:
    """Client side: the credentials answering ``challenge`` for one request (RFC 3261 §22.2, RFC 7616 §3.4).
    Give the ``password`` or a precomputed ``ha1``; ``nc`` counts the requests made with this nonce (start at 1).
    qop ``auth`` is chosen when offered, ``auth-int`` when it is the only one; no qop offered → RFC 2069 form."""
    alg = challenge.effective_algorithm
    if ha1 is None:
        if password is None:
            raise ValueError("a password or an HA1 is needed")
        ha1 = compute_ha1(username, challenge.realm, password, alg)
    qop: str | None = None
    if "auth" in challenge.qop:
        qop = "auth"
    elif "auth-int" in challenge.qop:
        qop = "auth-int"
    elif challenge.qop:
        raise AuthError(f"no supported qop in {challenge.qop}")
    if (qop is not None or alg.endswith("-sess")) and cnonce is None:
        cnonce = secrets.token_hex(8)
    if qop is None and not alg.endswith("-sess"):
        cnonce = None
    response = compute_response(
        ha1=ha1,
        algorithm=alg,
        nonce=challenge.nonce,
        method=method,
        uri=uri,
        qop=qop,
        nc=nc if qop else None,
        cnonce=cnonce,
        body=body,
    )
    return Credentials(
        username=hash_username(username, challenge.realm, alg) if challenge.userhash else username,
        realm=challenge.realm,
        nonce=challenge.nonce,
        uri=uri,
        response=response,
        algorithm=challenge.algorithm,
        qop=qop,
        cnonce=cnonce,
        nc=nc if qop else None,
        opaque=challenge.opaque,
        userhash=challenge.userhash,
    )


# --- server side: stateless nonces, nonce-count tracking, verification -----------------------------------------


class NonceState(StrEnum):
    VALID = "valid"
    STALE = "stale"  # ours, but older than the lifetime: re-challenge with stale=true
    INVALID = "invalid"  # not ours (forged, other realm or source, garbled)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class NonceManager:
    """Stateless nonces (RFC 7616 §3.3 leaves the form to the server): ``<ms-timestamp hex>.<salt>.<mac>`` with
    ``mac = HMAC-SHA256(secret, timestamp.salt.realm[.source])``. Checking one needs no storage: the MAC proves it is
    ours (for this realm and source address) and the timestamp gives its age. ``previous_secrets`` still verify, so
    the secret can be rotated without failing clients mid-registration."""

    def __init__(
        self,
        secret: bytes,
        lifetime: float = 300.0,
        clock: Callable[[], float] = time.time,
        *,
        previous_secrets: Sequence[bytes] = (),
        random: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        if len(secret) < 16:
            raise ValueError("the nonce secret must have at least 16 bytes")
        self._secrets = (secret, *previous_secrets)
        self.lifetime = lifetime
        self.clock = clock
        self._random = random

    def _mac(self, secret: bytes, stamp: str, salt: str, realm: str, source: str | None) -> str:
        msg = f"{stamp}.{salt}.{realm}" + (f".{source}" if source is not None else "")
        return _b64(hmac.new(secret, _bytes(msg), hashlib.sha256).digest()[:18])

    def issue(self, realm: str = "", source: str | None = None) -> str:
        stamp = format(int(self.clock() * 1000), "x")
        salt = _b64(self._random(6))
        return f"{stamp}.{salt}.{self._mac(self._secrets[0], stamp, salt, realm, source)}"

    def issued_at(self, nonce: str) -> float | None:
        """The issue time (seconds) written in a nonce of our form, None if it has none (authenticity unchecked)."""
        stamp = nonce.split(".", 1)[0]
        if not re.fullmatch(r"[0-9a-f]{1,13}", stamp):
            return None
        return int(stamp, 16) / 1000

    def check(self, nonce: str, now: float | None = None, *, realm: str = "", source: str | None = None) -> NonceState:
        if len(nonce) > 64:
            return NonceState.INVALID
        parts = nonce.split(".")
        issued = self.issued_at(nonce)
        if len(parts) != 3 or issued is None:
            return NonceState.INVALID
        stamp, salt, mac = parts
        if not any(hmac.compare_digest(mac, self._mac(s, stamp, salt, realm, source)) for s in self._secrets):
            return NonceState.INVALID
        now = self.clock() if now is None else now
        if issued > now + 5:  # from the future beyond clock skew: not one we issued
            return NonceState.INVALID
        return NonceState.STALE if now - issued > self.lifetime else NonceState.VALID


class NonceCountTracker:
    """The highest nonce-count seen per nonce (RFC 7616 §3.4: the server should check that nc grows, to detect
    replays). Bounded: least recently used nonces are dropped first and entries expire after ``lifetime``. A nonce
    dropped early would lose its history, so any unknown nonce issued no later than the newest dropped one is
    refused (the client then gets a fresh nonce with stale=true): the bound never opens a replay window."""

    def __init__(self, max_entries: int = 100_000, lifetime: float = 300.0, clock: Callable[[], float] = time.time):
        self.max_entries = max_entries
        self.lifetime = lifetime
        self.clock = clock
        self._seen: OrderedDict[str, tuple[int, float]] = OrderedDict()  # nonce -> (highest nc, issued at)
        self._evicted_up_to = float("-inf")

    def __len__(self) -> int:
        return len(self._seen)

    def accept(self, nonce: str, nc: int, issued_at: float, now: float | None = None) -> bool:
        """Record ``nc`` for ``nonce``; False when it does not grow (a replay) or the nonce's history was dropped."""
        now = self.clock() if now is None else now
        self._expire(now)
        entry = self._seen.get(nonce)
        if entry is None:
            if issued_at <= self._evicted_up_to:
                return False
        elif nc <= entry[0]:
            return False
        self._seen[nonce] = (nc, issued_at)
        self._seen.move_to_end(nonce)
        while len(self._seen) > self.max_entries:
            _, (_, dropped_at) = self._seen.popitem(last=False)
            self._evicted_up_to = max(self._evicted_up_to, dropped_at)
        return True

    def _expire(self, now: float) -> None:
        # Expired nonces are refused as stale by the NonceManager anyway: drop them from the least recently used end
        # (amortised O(1); an expired entry further in goes when it reaches the end or is evicted).
        while self._seen:
            nonce, (_, issued) = next(iter(self._seen.items()))
            if now - issued <= self.lifetime:
                break
            del self._seen[nonce]


class Outcome(StrEnum):
    OK = "ok"
    STALE = "stale"  # right password, old nonce: challenge again with stale=true
    REPLAYED = "replayed"  # right digest, nonce-count did not grow: challenge again with stale=true
    FAILED = "failed"  # wrong password (or HA1 for another realm): 401/403, counts as a failed attempt
    INVALID = "invalid"  # forged or foreign nonce, other realm, unsupported algorithm/qop, uri mismatch


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    @property
    def stale(self) -> bool:
        """Whether the next challenge should carry ``stale=true`` (RFC 7616 §3.3)."""
        return self.outcome in (Outcome.STALE, Outcome.REPLAYED)


class DigestAuthenticator:
    """Server side for one realm (a registrar, a proxy or a B2BUA): ``challenges()`` for a 401/407, ``verify()``
    for the credentials of the next request. The caller looks up the HA1 (by ``credentials.username`` and
    ``credentials.effective_algorithm``) — this class does no I/O."""

    def __init__(
        self,
        realm: str,
        nonces: NonceManager,
        tracker: NonceCountTracker | None = None,
        *,
        algorithms: Sequence[str] = ("SHA-256", "MD5"),
        qop: Sequence[str] = ("auth",),
        allow_rfc2069: bool = True,
        bind_source: bool = False,
    ) -> None:
        self.realm = realm
        self.nonces = nonces
        self.tracker = tracker if tracker is not None else NonceCountTracker(lifetime=nonces.lifetime)
        self.algorithms = tuple(_algorithm(a) for a in algorithms)
        self.qop = tuple(qop)
        self.allow_rfc2069 = allow_rfc2069
        self.bind_source = bind_source

    def challenges(self, *, source: str | None = None, stale: bool = False) -> list[Challenge]:
        """One challenge per algorithm, in our preference order (RFC 8760 §2.4: one header field each).
        MD5 is written without ``algorithm=`` only when it is the sole one, for the oldest clients."""
        nonce = self.nonces.issue(self.realm, source if self.bind_source else None)
        lone_md5 = self.algorithms == ("MD5",)
        return [
            Challenge(
                realm=self.realm,
                nonce=nonce,
                algorithm=None if lone_md5 else alg,
                qop=self.qop,
                stale=stale,
            )
            for alg in self.algorithms
        ]

    def verify(
        self,
        credentials: Credentials,
        *,
        ha1: str | None,
        method: str,
        now: float | None = None,
        source: str | None = None,
        request_uri: str | None = None,
        body: bytes = b"",
    ) -> Verdict:
        """Check credentials for a request. ``ha1`` is the stored ``H(username:realm:password)`` for the credentials'
        algorithm (None: unknown user, which fails like a wrong password). ``request_uri``, when given, must equal
        the digest ``uri`` (RFC 7616 §3.4.6). The nonce-count is recorded only after the digest matched."""
        c = credentials
        if c.realm != self.realm:
            return Verdict(Outcome.INVALID, "wrong realm")
        alg = c.effective_algorithm
        if alg not in self.algorithms:
            return Verdict(Outcome.INVALID, f"algorithm {alg} not offered")
        if c.qop is None:
            if self.qop and not self.allow_rfc2069:
                return Verdict(Outcome.INVALID, "qop required")
        elif c.qop not in self.qop:
            return Verdict(Outcome.INVALID, f"qop {c.qop} not offered")
        if request_uri is not None and c.uri != request_uri:
            return Verdict(Outcome.INVALID, "digest uri does not match the request")
        now = self.nonces.clock() if now is None else now
        state = self.nonces.check(c.nonce, now, realm=self.realm, source=source if self.bind_source else None)
        if state is NonceState.INVALID:
            return Verdict(Outcome.INVALID, "nonce not issued by us")
        if ha1 is None:
            return Verdict(Outcome.FAILED, "unknown user")
        try:
            expected = compute_response(
                ha1=ha1,
                algorithm=alg,
                nonce=c.nonce,
                method=method,
                uri=c.uri,
                qop=c.qop,
                nc=c.nc,
                cnonce=c.cnonce,
                body=body,
            )
        except AuthError as exc:
            return Verdict(Outcome.INVALID, str(exc))
        if not hmac.compare_digest(expected.encode(), _bytes(c.response.lower())):
            return Verdict(Outcome.FAILED, "wrong response")
        if state is NonceState.STALE:
            return Verdict(Outcome.STALE, "nonce expired")
        if c.nc is not None:
            issued = self.nonces.issued_at(c.nonce)
            assert issued is not None  # a VALID nonce has our form
            if not self.tracker.accept(c.nonce, c.nc, issued, now):
                return Verdict(Outcome.REPLAYED, "nonce-count did not increase")
        return Verdict(Outcome.OK)
