"""Bencode of the rtpengine ng protocol: known encodings, round trips (Hypothesis), strict rejection of bad input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from centrex.media.rtpengine.bencode import MAX_DEPTH, BencodeError, Value, decode, encode

HYPO = settings(max_examples=300, deadline=None, derandomize=True)

values: st.SearchStrategy[Value] = st.recursive(
    st.binary(max_size=40) | st.integers(),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.binary(max_size=12), children, max_size=6),
    max_leaves=30,
)


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (b"", b"0:"),
        (b"spam", b"4:spam"),
        ("é", b"2:\xc3\xa9"),
        (0, b"i0e"),
        (-42, b"i-42e"),
        (2**70, b"i1180591620717411303424e"),
        ([], b"le"),
        ((1, b"a"), b"li1e1:ae"),
        ({}, b"de"),
        ({"command": "ping"}, b"d7:command4:pinge"),
        (
            {"sdp": b"v=0", "call-id": "x", "replace": ["origin", "session-connection"]},
            b"d7:call-id1:x7:replacel6:origin18:session-connectione3:sdp3:v=0e",
        ),
        ({b"b": 1, "a": [{}]}, b"d1:aldee1:bi1ee"),
    ],
)
def test_known_encodings(value: object, wire: bytes) -> None:
    assert encode(value) == wire


def test_decode_gives_bytes_and_accepts_rtpengine_key_order() -> None:
    # rtpengine writes keys in insertion order, not sorted: still one valid dictionary
    assert decode(b"d6:result2:ok3:sdp3:v=0e") == {b"result": b"ok", b"sdp": b"v=0"}
    assert decode(b"d3:sdp3:v=06:result2:oke") == {b"result": b"ok", b"sdp": b"v=0"}
    assert decode(b"li-1ei0el4:spamee") == [-1, 0, [b"spam"]]


@HYPO
@given(values)
def test_round_trip(value: Value) -> None:
    wire = encode(value)
    assert decode(wire) == value
    assert encode(decode(wire)) == wire  # canonical: sorted keys, one form per value


@HYPO
@given(values, st.data())
def test_every_proper_prefix_and_any_trailing_byte_is_rejected(value: Value, data: st.DataObject) -> None:
    wire = encode(value)
    cut = data.draw(st.integers(0, len(wire) - 1))
    with pytest.raises(BencodeError):
        decode(wire[:cut])
    with pytest.raises(BencodeError, match="trailing"):
        decode(wire + data.draw(st.binary(min_size=1, max_size=4)))


@HYPO
@given(st.binary(max_size=64))
def test_arbitrary_bytes_decode_or_raise_bencode_error(data: bytes) -> None:
    try:
        value = decode(data)
    except BencodeError:
        return
    assert encode(value) == data or decode(encode(value)) == value  # unsorted keys re-encode sorted


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (b"", "truncated"),
        (b"i01e", "leading zero"),
        (b"i-0e", "leading zero"),
        (b"i-e", "malformed integer"),
        (b"ie", "malformed integer"),
        (b"i1x2e", "malformed integer"),
        (b"i+1e", "malformed integer"),
        (b"i" + b"9" * 65 + b"e", "longer than"),
        (b"i12", "unterminated integer"),
        (b"05:hello", "malformed string length"),
        (b"5:hell", "past the end"),
        (b"-1:a", "unexpected byte"),
        (b"4", "without ':'"),
        (b"l", "unterminated list"),
        (b"li1e", "unterminated list"),
        (b"d", "unterminated dictionary"),
        (b"di1ei2ee", "not a string"),
        (b"dlee1:ae", "not a string"),
        (b"d1:ai1e1:ai2ee", "duplicate"),
        (b"d1:ae", "unexpected byte"),  # a key without a value
        (b"d1:a", "truncated"),
        (b"x", "unexpected byte"),
        (b"i1ei2e", "trailing"),
        (b"l" * (MAX_DEPTH + 2) + b"e" * (MAX_DEPTH + 2), "nesting"),
    ],
)
def test_malformed_input_is_rejected(wire: bytes, reason: str) -> None:
    with pytest.raises(BencodeError, match=reason):
        decode(wire)


@pytest.mark.parametrize("value", [1.5, None, True, {1: b"x"}, {"a": 1, b"a": 2}, object()])
def test_values_without_a_bencode_form_are_refused(value: object) -> None:
    with pytest.raises(BencodeError):
        encode(value)


def test_deep_nesting_is_refused_on_encode() -> None:
    value: list[object] = []
    for _ in range(MAX_DEPTH + 2):
        value = [value]
    with pytest.raises(BencodeError, match="nesting"):
        encode(value)
