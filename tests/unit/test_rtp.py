"""RTP header parser (RFC 3550 §5.1): fields, CSRCs, extension, padding, malformed input, arbitrary bytes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from centrex.media.rtp import RtpParseError, build_rtp, parse_rtp


def test_parses_a_g711_packet() -> None:
    packet = build_rtp(payload_type=0, sequence=4660, timestamp=0xDEADBEEF, ssrc=0x01020304, payload=b"\xff" * 160)
    header = parse_rtp(packet)
    assert (header.version, header.padding, header.extension, header.csrc_count, header.marker) == (
        2,
        False,
        False,
        0,
        False,
    )
    assert (header.payload_type, header.sequence, header.timestamp, header.ssrc) == (0, 4660, 0xDEADBEEF, 0x01020304)
    assert header.payload_offset == 12 and header.payload_length == 160 and header.padding_length == 0
    assert header.csrcs == () and header.extension_profile is None


def test_parses_known_bytes() -> None:
    # V=2 P=0 X=0 CC=0 | M=1 PT=8 | seq 1 | ts 160 | ssrc 0xCAFEBABE
    header = parse_rtp(bytes.fromhex("80 88 0001 000000a0 cafebabe") + b"\xd5" * 3)
    assert header.marker and header.payload_type == 8 and header.sequence == 1 and header.timestamp == 160
    assert header.ssrc == 0xCAFEBABE and header.payload_length == 3


def test_csrcs_extension_and_padding() -> None:
    packet = build_rtp(
        payload_type=101,
        sequence=65535,
        timestamp=1,
        ssrc=2,
        payload=b"abcd",
        marker=True,
        csrcs=(7, 8, 9),
        extension=(0xBEDE, b"\x10\xaa\x00\x00"),
        padding=4,
    )
    header = parse_rtp(packet)
    assert header.padding and header.extension and header.marker
    assert header.csrc_count == 3 and header.csrcs == (7, 8, 9)
    assert header.extension_profile == 0xBEDE and header.extension_data == b"\x10\xaa\x00\x00"
    assert header.payload_offset == 12 + 12 + 4 + 4 and header.padding_length == 4 and header.payload_length == 4
    assert packet[header.payload_offset : header.payload_offset + header.payload_length] == b"abcd"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "shorter"),
        (b"\x80\x00" + bytes(9), "shorter"),
        (b"\x40\x00" + bytes(10), "version 1"),
        (b"\xc0\x00" + bytes(10), "version 3"),
        (b"\x82\x00" + bytes(10) + bytes(4), "CSRC"),
        (b"\x90\x00" + bytes(10), "extension"),
        (b"\x90\x00" + bytes(10) + b"\xbe\xde\x00\x02" + bytes(4), "extension"),
        (b"\xa0\x00" + bytes(10), "padding"),
        (b"\xa0\x00" + bytes(10) + b"\x00\x00", "padding"),
        (b"\xa0\x00" + bytes(10) + b"\x00\x05", "padding"),
    ],
)
def test_malformed_packets_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(RtpParseError, match=reason.split()[0]):
        parse_rtp(data)


def test_build_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="payload type"):
        build_rtp(payload_type=128, sequence=0, timestamp=0, ssrc=0)
    with pytest.raises(ValueError, match="multiple of 4"):
        build_rtp(payload_type=0, sequence=0, timestamp=0, ssrc=0, extension=(1, b"abc"))


@settings(max_examples=600, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_parse_or_raise_parse_error(data: bytes) -> None:
    try:
        header = parse_rtp(data)
    except RtpParseError:
        return
    assert header.version == 2
    assert 12 <= header.payload_offset <= len(data)
    assert header.payload_length >= 0
    assert header.payload_offset + header.payload_length + header.padding_length == len(data)


@settings(max_examples=300, deadline=None)
@given(
    pt=st.integers(0, 127),
    seq=st.integers(0, 65535),
    ts=st.integers(0, 2**32 - 1),
    ssrc=st.integers(0, 2**32 - 1),
    payload=st.binary(max_size=64),
    marker=st.booleans(),
    csrcs=st.lists(st.integers(0, 2**32 - 1), max_size=15).map(tuple),
    ext=st.none() | st.tuples(st.integers(0, 65535), st.binary(max_size=12).map(lambda b: b[: len(b) // 4 * 4])),
    padding=st.integers(0, 255),
)
def test_build_then_parse_round_trips(
    pt: int,
    seq: int,
    ts: int,
    ssrc: int,
    payload: bytes,
    marker: bool,
    csrcs: tuple[int, ...],
    ext: tuple[int, bytes] | None,
    padding: int,
) -> None:
    packet = build_rtp(
        payload_type=pt,
        sequence=seq,
        timestamp=ts,
        ssrc=ssrc,
        payload=payload,
        marker=marker,
        csrcs=csrcs,
        extension=ext,
        padding=padding,
    )
    header = parse_rtp(packet)
    assert (header.payload_type, header.sequence, header.timestamp, header.ssrc, header.marker) == (
        pt,
        seq,
        ts,
        ssrc,
        marker,
    )
    assert header.csrcs == csrcs
    assert header.extension_data == (ext[1] if ext else b"")
    assert packet[header.payload_offset : header.payload_offset + header.payload_length] == payload
    assert header.padding_length == padding
