"""Bencode (the encoding of rtpengine's ng control protocol): ``encode`` and a strict ``decode``; no I/O.

Values: byte strings (``str`` is encoded as UTF-8 and decodes as ``bytes``), integers (``bool`` is refused),
lists (``tuple`` encodes as a list) and dictionaries with string keys. ``encode`` writes dictionary keys sorted
(canonical bencode). ``decode`` accepts exactly one value spanning the whole input and refuses, with
``BencodeError``: integers with a leading zero, ``-0``, a sign without digits or more than ``MAX_INT_DIGITS``
digits; string lengths with a leading zero or beyond the input; non-string or duplicate dictionary keys; nesting
deeper than ``MAX_DEPTH``; truncated input and trailing bytes. Dictionary keys need not be sorted: rtpengine writes
them in insertion order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

Value: TypeAlias = bytes | int | list["Value"] | dict[bytes, "Value"]
"""A decoded value: what ``decode`` returns."""

MAX_DEPTH = 64
MAX_INT_DIGITS = 64
_DIGITS = frozenset(b"0123456789")


class BencodeError(ValueError):
    """Input that is not valid bencode, or a value that cannot be encoded."""


def encode(value: object) -> bytes:
    """``value`` as bencode; ``BencodeError`` for a type bencode has no form for (float, None, bool …)."""
    out: list[bytes] = []
    _encode(value, out, 0)
    return b"".join(out)


def _key(key: object) -> bytes:
    if isinstance(key, bytes):
        return key
    if isinstance(key, str):
        return key.encode()
    raise BencodeError(f"dictionary key {key!r} is not a string")


def _encode(value: object, out: list[bytes], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise BencodeError(f"nesting deeper than {MAX_DEPTH}")
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        out += (str(len(data)).encode(), b":", data)
    elif isinstance(value, str):
        data = value.encode()
        out += (str(len(data)).encode(), b":", data)
    elif isinstance(value, bool):
        raise BencodeError("booleans have no bencode form (use 0/1 or a string)")
    elif isinstance(value, int):
        out += (b"i", str(value).encode(), b"e")
    elif isinstance(value, Mapping):
        items = sorted(((_key(k), v) for k, v in value.items()), key=lambda kv: kv[0])
        out.append(b"d")
        previous: bytes | None = None
        for key, item in items:
            if key == previous:
                raise BencodeError(f"dictionary key {key!r} given twice (as str and bytes)")
            previous = key
            out += (str(len(key)).encode(), b":", key)
            _encode(item, out, depth + 1)
        out.append(b"e")
    elif isinstance(value, Sequence):
        out.append(b"l")
        for item in value:
            _encode(item, out, depth + 1)
        out.append(b"e")
    else:
        raise BencodeError(f"{type(value).__name__} has no bencode form")


def decode(data: bytes) -> Value:
    """The one bencoded value that is all of ``data``; ``BencodeError`` otherwise."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise BencodeError("bencode input must be bytes")
    raw = bytes(data)
    value, end = _decode(raw, 0, 0)
    if end != len(raw):
        raise BencodeError(f"{len(raw) - end} trailing byte(s) after the value")
    return value


def _decode(data: bytes, pos: int, depth: int) -> tuple[Value, int]:
    if depth > MAX_DEPTH:
        raise BencodeError(f"nesting deeper than {MAX_DEPTH}")
    if pos >= len(data):
        raise BencodeError("truncated input")
    lead = data[pos]
    if lead == 0x69:  # i
        end = data.find(b"e", pos + 1)
        if end < 0:
            raise BencodeError("unterminated integer")
        return _int(data[pos + 1 : end]), end + 1
    if lead == 0x6C:  # l
        items: list[Value] = []
        pos += 1
        while True:
            if pos >= len(data):
                raise BencodeError("unterminated list")
            if data[pos] == 0x65:  # e
                return items, pos + 1
            item, pos = _decode(data, pos, depth + 1)
            items.append(item)
    if lead == 0x64:  # d
        result: dict[bytes, Value] = {}
        pos += 1
        while True:
            if pos >= len(data):
                raise BencodeError("unterminated dictionary")
            if data[pos] == 0x65:
                return result, pos + 1
            if data[pos] not in _DIGITS:
                raise BencodeError(f"dictionary key at offset {pos} is not a string")
            key, pos = _string(data, pos)
            if key in result:
                raise BencodeError(f"duplicate dictionary key {key!r}")
            result[key], pos = _decode(data, pos, depth + 1)
    if lead in _DIGITS:
        return _string(data, pos)
    raise BencodeError(f"unexpected byte {bytes([lead])!r} at offset {pos}")


def _int(digits: bytes) -> int:
    body = digits[1:] if digits[:1] == b"-" else digits
    if not body or not all(c in _DIGITS for c in body):
        raise BencodeError(f"malformed integer {digits!r}")
    if len(body) > MAX_INT_DIGITS:
        raise BencodeError(f"integer longer than {MAX_INT_DIGITS} digits")
    if body[0] == 0x30 and (len(body) > 1 or digits[:1] == b"-"):
        raise BencodeError(f"integer {digits!r} has a leading zero or is -0")
    return int(digits)


def _string(data: bytes, pos: int) -> tuple[bytes, int]:
    colon = data.find(b":", pos, pos + 21)
    if colon < 0:
        raise BencodeError(f"string length at offset {pos} without ':'")
    length = data[pos:colon]
    if not length or not all(c in _DIGITS for c in length) or (length[0] == 0x30 and len(length) > 1):
        raise BencodeError(f"malformed string length {length!r}")
    start = colon + 1
    end = start + int(length)
    if end > len(data):
        raise BencodeError("string runs past the end of the input")
    return data[start:end], end
