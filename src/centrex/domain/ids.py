"""Opaque, time-sortable identifiers: ``<prefix>_<26 Crockford base32 chars>`` (a ULID body).

Ids sort by creation time, which keeps cursor pagination stable and index-friendly.
"""

from __future__ import annotations

import os
import re
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_ID_RE = re.compile(r"^[a-z]{2,5}_[0-9a-hjkmnp-tv-z]{26}$")


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str, *, now_ms: int | None = None) -> str:
    """Return a new id such as ``ext_01jd8x…``; ids made later sort after earlier ones."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")
    return f"{prefix}_{_encode(ms, 10)}{_encode(rand, 16)}"


def looks_like_id(value: str, prefix: str | None = None) -> bool:
    """True when ``value`` has the shape of an id (optionally with the given prefix)."""
    if not _ID_RE.match(value):
        return False
    return prefix is None or value.startswith(prefix + "_")
