"""Header fields: an ordered multi-map that keeps every field as received (its name form and its raw value), so
unknown headers pass through byte-exact; lookups are by canonical name, compact forms included (RFC 3261 §7.3.3)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field

# RFC 3261 §7.3.3 and the compact forms registered since (IANA "Header Fields" registry).
COMPACT_FORMS: dict[str, str] = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "n": "Identity-Info",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}
# Canonical spelling of the headers the core reads; anything else keeps the spelling it arrived with.
_KNOWN = (
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Alert-Info",
    "Allow",
    "Authentication-Info",
    "Authorization",
    "Call-ID",
    "Call-Info",
    "Contact",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-Type",
    "CSeq",
    "Date",
    "Error-Info",
    "Expires",
    "From",
    "In-Reply-To",
    "Max-Forwards",
    "Min-Expires",
    "Min-SE",
    "MIME-Version",
    "Organization",
    "P-Asserted-Identity",
    "Path",
    "Priority",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Require",
    "RAck",
    "Record-Route",
    "Refer-To",
    "Referred-By",
    "Replaces",
    "Reply-To",
    "Require",
    "Retry-After",
    "Route",
    "RSeq",
    "Server",
    "Session-Expires",
    "Subject",
    "Subscription-State",
    "Supported",
    "Timestamp",
    "To",
    "Unsupported",
    "User-Agent",
    "Via",
    "Warning",
    "WWW-Authenticate",
    *COMPACT_FORMS.values(),
)
_CANONICAL: dict[str, str] = {name.lower(): name for name in _KNOWN}
for _short, _long in COMPACT_FORMS.items():
    _CANONICAL[_short] = _long


def canonical_name(name: str) -> str:
    """``v`` → ``Via``, ``call-id`` → ``Call-ID``; unknown names are returned unchanged."""
    return _CANONICAL.get(name.lower(), name)


@functools.lru_cache(maxsize=4096)
def _key(name: str) -> str:
    return canonical_name(name).lower()


@dataclass(slots=True)
class Header:
    """One header field line: ``name`` as received (``v``, ``VIA``, ``Via``), ``value`` without surrounding space."""

    name: str
    value: str
    key: str = field(init=False, repr=False, compare=False)  # lower-case canonical name, for lookups

    def __post_init__(self) -> None:
        self.key = _key(self.name)


@dataclass(slots=True)
class Headers:
    """The header fields of a message, in order. Several fields with one name are several entries."""

    entries: list[Header] = field(default_factory=list)

    def __iter__(self) -> Iterator[Header]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(h.key == _key(name) for h in self.entries)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first field's value (``default`` when absent)."""
        key = _key(name)
        return next((h.value for h in self.entries if h.key == key), default)

    def get_all(self, name: str) -> list[str]:
        """Every field's raw value, in order (comma-separated lists are not split: see ``split_list``)."""
        key = _key(name)
        return [h.value for h in self.entries if h.key == key]

    def count(self, name: str) -> int:
        key = _key(name)
        return sum(1 for h in self.entries if h.key == key)

    def add(self, name: str, value: str) -> None:
        self.entries.append(Header(name, value))

    def prepend(self, name: str, value: str) -> None:
        """Add before every other field (a proxy's Via, a Record-Route)."""
        self.entries.insert(0, Header(name, value))

    def set(self, name: str, value: str) -> None:
        """Replace every field of ``name`` by one, where the first one was (or at the end)."""
        key = _key(name)
        for i, h in enumerate(self.entries):
            if h.key == key:
                h.value = value
                self.entries[i + 1 :] = [x for x in self.entries[i + 1 :] if x.key != key]
                return
        self.entries.append(Header(canonical_name(name), value))

    def remove(self, name: str) -> int:
        """Remove every field of ``name``; returns how many there were."""
        key = _key(name)
        before = len(self.entries)
        self.entries = [h for h in self.entries if h.key != key]
        return before - len(self.entries)

    def copy(self) -> Headers:
        return Headers([Header(h.name, h.value) for h in self.entries])


def split_outside_quotes(text: str, sep: str, *, angle: bool = False, strict: bool = False) -> list[str]:
    """Split ``text`` at each ``sep`` that is outside quoted strings (and, with ``angle``, outside ``<…>``); the
    parts are returned as they are (not stripped, empty ones kept). An unterminated quoted string runs to the end,
    or raises ValueError when ``strict``."""
    parts: list[str] = []
    depth = 0
    quoted = escaped = False
    start = 0
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif quoted:
            if ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif angle and ch == "<":
            depth += 1
        elif angle and ch == ">" and depth:
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if quoted and strict:
        raise ValueError("unterminated quoted string")
    parts.append(text[start:])
    return parts


def split_list(value: str) -> list[str]:
    """Split a comma-separated header value (Via, Contact, Route …) at the top-level commas: commas inside quoted
    strings and ``<…>`` stay. Empty elements are dropped."""
    return [p.strip() for p in split_outside_quotes(value, ",", angle=True) if p.strip()]
