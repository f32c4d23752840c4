"""Audio files: recognise, check and convert uploaded audio to the one format the PBX plays.

Everything stored as audio (prompts, greetings, music on hold, voicemail) is 8 kHz mono 16-bit PCM WAV. Uploads are
recognised by their content — RIFF/WAVE, or MPEG audio frames with an optional ID3 tag — never by the file name or
the declared content type. Anything else is refused from its first bytes (422 ``unsupported_audio``) and never handed
to another tool, so a ZIP or gzip bomb is never expanded. Before any conversion the length declared by the file
itself is checked (a WAV header claiming two hours is refused at once); the conversion (``sox``, run as an argument
list with a timeout, on files in a private temporary directory that is always removed) is also cut at the limit plus
one second, so a file that decodes to more than it claimed cannot produce more than that.

    probe(data, max_seconds=…)     what the file is and how long it says it is; refuses before any conversion
    convert(data, max_seconds=…)   Audio: canonical WAV bytes and duration (canonical input is only re-wrapped)
    synthesize(text, voice, …)     Audio spoken offline by ``espeak-ng``
    choose_voice(language, voice)  the espeak-ng voice for a language, or the named voice checked
    safe_filename(name)            a sanitised base name; path traversal and control characters are refused

Errors are domain errors: ``InvalidInput`` (422 naming the field ``file``: not WAV/MP3 audio, too long, empty,
undecodable, bad file name), ``PayloadTooLarge`` (413), ``AudioToolUnavailable`` (503: sox or espeak-ng missing).
``UnsupportedMediaType`` (415) is for a request body of a content type an endpoint does not take. This module
imports only ``centrex.domain``.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from centrex.domain.errors import DomainError, InvalidInput, PayloadTooLarge

TARGET_RATE = 8000
TARGET_CHANNELS = 1
TARGET_BITS = 16
DEFAULT_MAX_SECONDS = 600  # prompts, greetings, music on hold
CONVERT_TIMEOUT = 60.0
MAX_TTS_CHARS = 2000

AudioKind = Literal["wav", "mp3"]


class UnsupportedMediaType(DomainError):
    """The request body has a content type the endpoint does not take (not a form, not audio)."""

    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class AudioToolUnavailable(DomainError):
    """The server lacks the tool needed for this audio (sox, its MP3 support, or espeak-ng)."""

    status = 503
    code = "audio_tool_unavailable"
    title = "Audio tool unavailable"


def _invalid(message: str, code: str = "invalid_audio", field: str = "file") -> InvalidInput:
    return InvalidInput.field(field, message, code)


def _hms(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


# ------------------------------------------------------------------------------------------------ what is it?
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"PK\x03\x04", "a ZIP archive"),
    (0, b"PK\x05\x06", "a ZIP archive"),
    (0, b"PK\x07\x08", "a ZIP archive"),
    (0, b"\x1f\x8b", "a gzip file"),
    (0, b"BZh", "a bzip2 file"),
    (0, b"\xfd7zXZ\x00", "an xz file"),
    (0, b"(\xb5/\xfd", "a zstd file"),
    (0, b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (0, b"Rar!\x1a\x07", "a RAR archive"),
    (0, b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (0, b"\xff\xd8\xff", "a JPEG image"),
    (0, b"GIF8", "a GIF image"),
    (0, b"%PDF", "a PDF document"),
    (0, b"\x7fELF", "an executable"),
    (0, b"MZ", "a Windows executable"),
    (0, b"OggS", "Ogg audio, which is not accepted"),
    (0, b"fLaC", "FLAC audio, which is not accepted"),
    (0, b"FORM", "AIFF/IFF audio, which is not accepted"),
    (0, b"RIFX", "a big-endian RIFF file, which is not accepted"),
    (0, b"RF64", "an RF64 WAV file, which is not accepted"),
    (0, b"RIFF", "a RIFF file that is not WAVE audio"),
    (0, b"\x1aE\xdf\xa3", "a Matroska/WebM file"),
    (4, b"ftyp", "an MP4/M4A file, which is not accepted"),
)


def describe(data: bytes) -> str:
    """A short description of non-audio content, for error messages ("a ZIP archive")."""
    for offset, magic, what in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return what
    head = data[:512]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character cut at the sample's end is still text.
        try:
            text = head[:-3].decode("utf-8") if len(head) > 3 else ""
        except UnicodeDecodeError:
            text = ""
    if text and all(c.isprintable() or c in "\r\n\t" for c in text):
        return "text"
    return "an unrecognised binary file"


def sniff(data: bytes) -> AudioKind:
    """``wav`` or ``mp3`` from the content itself; anything else is refused with 422 ``unsupported_audio``."""
    if not data:
        raise _invalid("the file is empty", "empty_file")
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if _find_mpeg(data) is not None:
        return "mp3"
    raise _invalid(
        f"the file is {describe(data)}, not audio that can be used: upload a WAV or MP3 file", "unsupported_audio"
    )


# ------------------------------------------------------------------------------------------------------ WAV
# WAVE format tags sox decodes: PCM, MS ADPCM, IEEE float, A-law, mu-law, IMA ADPCM, GSM 6.10 (+ EXTENSIBLE).
_WAV_CODECS = {1: "PCM", 2: "MS ADPCM", 3: "IEEE float", 6: "A-law", 7: "mu-law", 0x11: "IMA ADPCM", 0x31: "GSM 6.10"}
_UNCOMPRESSED = frozenset({1, 3, 6, 7})
_EXTENSIBLE = 0xFFFE
_MAX_CHUNKS = 64


@dataclass(frozen=True)
class WavInfo:
    format_tag: int  # the codec (the sub-format for WAVE_FORMAT_EXTENSIBLE)
    channels: int
    sample_rate: int
    byte_rate: int
    block_align: int
    bits_per_sample: int
    data_offset: int
    data_size: int  # bytes of audio actually present
    declared_size: int  # bytes of audio the header declares

    @property
    def declared_seconds(self) -> float:
        """The length the header declares (uncompressed codecs: from the sample layout, not the byte rate)."""
        if self.format_tag in _UNCOMPRESSED:
            return self.declared_size / (self.sample_rate * self.block_align)
        return self.declared_size / self.byte_rate

    @property
    def is_canonical(self) -> bool:
        """Already 8 kHz mono 16-bit PCM: only the header needs rewriting."""
        return (
            self.format_tag == 1
            and self.channels == TARGET_CHANNELS
            and self.sample_rate == TARGET_RATE
            and self.bits_per_sample == TARGET_BITS
            and self.block_align == 2
        )


def _u16(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 2], "little")


def _u32(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 4], "little")


def parse_wav(data: bytes) -> WavInfo:
    """Read a RIFF/WAVE header (``fmt `` and ``data`` chunks); refuses malformed headers and unknown codecs."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise _invalid("not a RIFF/WAVE file")
    pos = 12
    fmt: tuple[int, int, int, int, int, int] | None = None
    for _ in range(_MAX_CHUNKS):
        if pos + 8 > len(data):
            break
        chunk, size, body = data[pos : pos + 4], _u32(data, pos + 4), pos + 8
        if chunk == b"fmt ":
            if size < 16 or body + size > len(data):
                raise _invalid("the WAV header's format chunk is malformed")
            tag = _u16(data, body)
            if tag == _EXTENSIBLE:
                if size < 40:
                    raise _invalid("the WAV header's extensible format chunk is malformed")
                tag = _u16(data, body + 24)
            channels, rate, byte_rate = _u16(data, body + 2), _u32(data, body + 4), _u32(data, body + 8)
            align, bits = _u16(data, body + 12), _u16(data, body + 14)
            if tag not in _WAV_CODECS:
                raise _invalid(
                    f"the WAV file uses an encoding that is not accepted (format tag 0x{tag:04x}); "
                    f"accepted: {', '.join(_WAV_CODECS.values())}",
                    "unsupported_audio",
                )
            if not (1 <= channels <= 8 and 1000 <= rate <= 384_000 and byte_rate > 0 and align > 0):
                raise _invalid("the WAV header has impossible values (channels, sample rate or block size)")
            fmt = (tag, channels, rate, byte_rate, align, bits)
        elif chunk == b"data":
            if fmt is None:
                raise _invalid("the WAV file has no format chunk before its audio")
            available = len(data) - body
            declared = available if size in (0, 0xFFFFFFFF) else size  # 0/-1: written by a streaming recorder
            tag, channels, rate, byte_rate, align, bits = fmt
            return WavInfo(tag, channels, rate, byte_rate, align, bits, body, min(declared, available), declared)
        pos = body + size + (size & 1)
    raise _invalid("the WAV file has no audio data")


def wav_bytes(pcm: bytes, rate: int = TARGET_RATE, channels: int = TARGET_CHANNELS, bits: int = TARGET_BITS) -> bytes:
    """A canonical 44-byte-header PCM WAV file around ``pcm``."""
    align = channels * bits // 8
    header = b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * align, align, bits)
    return header + b"data" + struct.pack("<I", len(pcm)) + pcm


# ------------------------------------------------------------------------------------------------------ MP3
_MPEG_KBPS: dict[tuple[bool, int], tuple[int, ...]] = {
    (True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_ID3_SCAN = 64 * 1024  # padding tolerated between an ID3v2 tag and the first frame


@dataclass(frozen=True)
class MpegFrame:
    version: int  # 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5
    layer: int
    bitrate: int  # bits per second
    sample_rate: int
    channels: int
    length: int  # bytes, header included
    samples: int

    def same_stream(self, other: MpegFrame) -> bool:
        return (self.version, self.layer, self.sample_rate) == (other.version, other.layer, other.sample_rate)


def mpeg_frame(data: bytes, pos: int) -> MpegFrame | None:
    """The MPEG audio frame header at ``pos``, or None (free-format and reserved values are not accepted)."""
    if pos < 0 or pos + 4 > len(data):
        return None
    b0, b1, b2, b3 = data[pos : pos + 4]
    if b0 != 0xFF or (b1 & 0xE0) != 0xE0:
        return None
    version, layer_bits = (b1 >> 3) & 3, (b1 >> 1) & 3
    br_index, sr_index = b2 >> 4, (b2 >> 2) & 3
    if version == 1 or layer_bits == 0 or br_index in (0, 15) or sr_index == 3 or (b3 & 3) == 2:
        return None
    layer = 4 - layer_bits
    mpeg1 = version == 3
    bitrate = _MPEG_KBPS[(mpeg1, layer)][br_index - 1] * 1000
    rate = _MPEG_RATES[version][sr_index]
    padding = (b2 >> 1) & 1
    channels = 1 if b3 >> 6 == 3 else 2
    if layer == 1:
        length, samples = (12 * bitrate // rate + padding) * 4, 384
    elif layer == 2:
        length, samples = 144 * bitrate // rate + padding, 1152
    else:
        length, samples = (144 if mpeg1 else 72) * bitrate // rate + padding, 1152 if mpeg1 else 576
    return MpegFrame(version, layer, bitrate, rate, channels, length, samples)


def _id3_end(data: bytes) -> int:
    """Offset after a leading ID3v2 tag (0 without one; -1 when the tag header is malformed)."""
    if data[:3] != b"ID3" or len(data) < 10:
        return 0
    size_bytes = data[6:10]
    if any(b & 0x80 for b in size_bytes):
        return -1
    size = (size_bytes[0] << 21) | (size_bytes[1] << 14) | (size_bytes[2] << 7) | size_bytes[3]
    return 10 + size + (10 if data[5] & 0x10 else 0)


def _find_mpeg(data: bytes) -> int | None:
    """Offset of the first MPEG audio frame, confirmed by the frame that follows it (or by the end of the file)."""
    start = _id3_end(data)
    if start < 0 or start >= len(data):
        return None
    last = min(len(data), start + _ID3_SCAN) if start else 1
    pos = start
    while pos < last:
        pos = data.find(b"\xff", pos, last)
        if pos < 0:
            return None
        frame = mpeg_frame(data, pos)
        if frame is not None:
            nxt = pos + frame.length
            following = mpeg_frame(data, nxt)
            tail = data[nxt:]
            if (following is not None and following.same_stream(frame)) or not tail or tail[:3] == b"TAG":
                return pos
        pos += 1
    return None


@dataclass(frozen=True)
class Mp3Info:
    audio_offset: int
    sample_rate: int
    channels: int
    bitrate: int
    estimated_seconds: float | None  # None when the length cannot be told without decoding (VBR without a header)


def parse_mp3(data: bytes) -> Mp3Info:
    offset = _find_mpeg(data)
    if offset is None:
        raise _invalid("no MPEG audio frames found")
    first = mpeg_frame(data, offset)
    assert first is not None
    seconds: float | None = None
    # A Xing/Info (LAME) or VBRI header in the first frame gives the number of frames.
    if first.layer == 3:
        side = (32 if first.channels == 2 else 17) if first.version == 3 else (17 if first.channels == 2 else 9)
        xing = offset + 4 + side
        if data[xing : xing + 4] in (b"Xing", b"Info") and int.from_bytes(data[xing + 4 : xing + 8], "big") & 1:
            frames = int.from_bytes(data[xing + 8 : xing + 12], "big")
            seconds = frames * first.samples / first.sample_rate
        elif data[offset + 36 : offset + 40] == b"VBRI":
            frames = int.from_bytes(data[offset + 50 : offset + 54], "big")
            seconds = frames * first.samples / first.sample_rate
    if seconds is None:
        # Constant bit rate (the first frames agree): the size tells the length.
        rates, pos = set(), offset
        for _ in range(8):
            frame = mpeg_frame(data, pos)
            if frame is None:
                break
            rates.add(frame.bitrate)
            pos += frame.length
        if len(rates) == 1:
            seconds = (len(data) - offset) * 8 / first.bitrate
    return Mp3Info(offset, first.sample_rate, first.channels, first.bitrate, seconds)


# ------------------------------------------------------------------------------------------- checks, convert
@dataclass(frozen=True)
class Probe:
    kind: AudioKind
    declared_seconds: float | None
    wav: WavInfo | None = None


def probe(data: bytes, *, max_seconds: int = DEFAULT_MAX_SECONDS, max_bytes: int | None = None) -> Probe:
    """Recognise ``data`` and check its size and declared length, without decoding it."""
    if max_bytes is not None and len(data) > max_bytes:
        raise PayloadTooLarge(f"The audio file is {len(data)} bytes; at most {max_bytes} bytes are accepted")
    kind = sniff(data)
    if kind == "wav":
        info = parse_wav(data)
        seconds: float | None = info.declared_seconds
        wav: WavInfo | None = info
    else:
        seconds, wav = parse_mp3(data).estimated_seconds, None
    if seconds is not None and seconds > max_seconds:
        raise _invalid(
            f"the audio is {_hms(seconds)} long; at most {max_seconds} seconds ({_hms(max_seconds)}) are accepted",
            "audio_too_long",
        )
    return Probe(kind, seconds, wav)


@dataclass(frozen=True)
class Audio:
    """Converted audio: a canonical 8 kHz mono 16-bit PCM WAV file."""

    wav: bytes
    duration_ms: int
    sample_rate: int = TARGET_RATE

    @property
    def size(self) -> int:
        return len(self.wav)


def _finish(pcm: bytes, max_seconds: int) -> Audio:
    pcm = pcm[: len(pcm) - len(pcm) % 2]
    samples = len(pcm) // 2
    if samples == 0:
        raise _invalid("the file contains no audio", "empty_audio")
    duration_ms = samples * 1000 // TARGET_RATE
    if duration_ms > max_seconds * 1000:
        raise _invalid(
            f"the audio is longer than {max_seconds} seconds ({_hms(max_seconds)})",
            "audio_too_long",
        )
    return Audio(wav_bytes(pcm), duration_ms)


def _tool_env() -> dict[str, str]:
    # Nothing from the server's environment (SOX_OPTS, locale, …) changes what the tools do.
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise AudioToolUnavailable(f"{name} is not installed on the server, so audio cannot be processed")
    return path


@functools.cache
def _sox_formats() -> frozenset[str]:
    out = subprocess.run(  # noqa: S603 - fixed argument list
        [_tool("sox"), "-h"], capture_output=True, text=True, timeout=10, check=False, env=_tool_env()
    ).stdout
    match = re.search(r"AUDIO FILE FORMATS:(.*)", out)
    return frozenset(match.group(1).split()) if match else frozenset()


def _message(stderr: bytes, tmp: str) -> str:
    text = stderr.decode("utf-8", "replace").replace(tmp + os.sep, "").replace(tmp, "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reason = lines[-1] if lines else "unknown error"
    reason = re.sub(r"^\S+ (FAIL|WARN) \S+: ", "", reason)
    return reason[:200]


def _sox(data: bytes, kind: AudioKind, max_seconds: int, timeout: float) -> bytes:
    """Decode ``data`` with sox into 8 kHz mono 16-bit PCM (cut at ``max_seconds + 1``); returns the samples."""
    sox = _tool("sox")
    if kind not in _sox_formats():
        raise AudioToolUnavailable(f"the server's sox cannot decode {kind.upper()} (install libsox-fmt-mp3)")
    with tempfile.TemporaryDirectory(prefix="centrex-audio-") as tmp:  # mode 0700, removed whatever happens
        src, dst = os.path.join(tmp, f"input.{kind}"), os.path.join(tmp, "output.wav")
        Path(src).write_bytes(data)
        cmd = [sox, "-G", "-V1", "--no-show-progress", "-t", kind, src]
        cmd += ["-t", "wav", "-e", "signed-integer", "-b", str(TARGET_BITS), "-c", str(TARGET_CHANNELS)]
        cmd += ["-r", str(TARGET_RATE), dst, "trim", "0", str(max_seconds + 1)]
        try:
            proc = subprocess.run(  # noqa: S603 - argument list, no shell, our own file names
                cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False, env=_tool_env()
            )
        except subprocess.TimeoutExpired:
            raise _invalid(
                f"the audio could not be converted within {timeout:g} seconds", "conversion_timeout"
            ) from None
        if proc.returncode != 0 or not os.path.exists(dst):
            raise _invalid(f"the audio could not be decoded: {_message(proc.stderr, tmp)}", "undecodable_audio")
        out = Path(dst).read_bytes()
    info = parse_wav(out)
    return out[info.data_offset : info.data_offset + info.data_size]


def convert(
    data: bytes,
    *,
    max_seconds: int = DEFAULT_MAX_SECONDS,
    max_bytes: int | None = None,
    timeout: float = CONVERT_TIMEOUT,
) -> Audio:
    """Check and convert uploaded audio to canonical 8 kHz mono 16-bit PCM WAV."""
    checked = probe(data, max_seconds=max_seconds, max_bytes=max_bytes)
    if checked.wav is not None and checked.wav.is_canonical:
        start = checked.wav.data_offset
        return _finish(data[start : start + checked.wav.data_size], max_seconds)
    return _finish(_sox(data, checked.kind, max_seconds, timeout), max_seconds)


# ------------------------------------------------------------------------------------------ text to speech
_VOICE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{1,8})*(\+[a-z0-9]{1,10})?$")


@functools.cache
def voices() -> frozenset[str]:
    """The languages espeak-ng has voices for (``en-us``, ``fr-fr``, ``de`` …)."""
    out = subprocess.run(  # noqa: S603 - fixed argument list
        [_tool("espeak-ng"), "--voices"], capture_output=True, text=True, timeout=10, check=False, env=_tool_env()
    ).stdout
    names = set()
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2:
            names.add(parts[1].lower())
    return frozenset(names)


def choose_voice(language: str | None, voice: str | None) -> str:
    """The espeak-ng voice: ``voice`` when given (checked), else the best one for ``language`` (default en-us)."""
    available = voices()
    if voice:
        name = voice.lower()
        if not _VOICE.match(name) or name.partition("+")[0] not in available:
            raise InvalidInput.field("voice", f"unknown voice {voice!r} (examples: en-us, en-gb, fr-fr, de, es)")
        return name
    lang = (language or "en-us").lower()
    base = lang.split("-")[0]
    preferred = [lang, f"{base}-{base}", "en-us" if base == "en" else "", base]
    for candidate in preferred:
        if candidate in available:
            return candidate
    regional = sorted(v for v in available if v.startswith(base + "-"))
    if regional:
        return regional[0]
    raise InvalidInput.field("language", f"no text-to-speech voice for language {language!r}")


def synthesize(
    text: str, voice: str, *, max_seconds: int = DEFAULT_MAX_SECONDS, timeout: float = CONVERT_TIMEOUT
) -> Audio:
    """Speak ``text`` with espeak-ng (offline) and convert the result to canonical 8 kHz audio."""
    if not text.strip():
        raise InvalidInput.field("text", "must not be empty")
    if len(text) > MAX_TTS_CHARS:
        raise InvalidInput.field("text", f"at most {MAX_TTS_CHARS} characters")
    espeak = _tool("espeak-ng")
    with tempfile.TemporaryDirectory(prefix="centrex-tts-") as tmp:
        source, target = os.path.join(tmp, "text.txt"), os.path.join(tmp, "speech.wav")
        Path(source).write_text(text, encoding="utf-8")
        cmd = [espeak, "-v", voice, "-b", "1", "-f", source, "-w", target]
        try:
            proc = subprocess.run(  # noqa: S603 - argument list, the text is passed in a file
                cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False, env=_tool_env()
            )
        except subprocess.TimeoutExpired:
            raise InvalidInput.field("text", f"speech synthesis took longer than {timeout:g} seconds") from None
        if proc.returncode != 0 or not os.path.exists(target):
            raise InvalidInput.field("voice", f"speech synthesis failed: {_message(proc.stderr, tmp)}")
        speech = Path(target).read_bytes()
    try:
        return convert(speech, max_seconds=max_seconds, timeout=timeout)
    except InvalidInput as exc:
        if any(e.code == "audio_too_long" for e in exc.errors):
            raise InvalidInput.field("text", f"the spoken text is longer than {max_seconds} seconds") from None
        raise


# ------------------------------------------------------------------------------------------------ file names
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UNSAFE = re.compile(r'[:*?"<>|]')
MAX_FILENAME = 255


def safe_filename(name: str | None, field: str = "file") -> str | None:
    """The base name to store for an uploaded file name (None when there is none).

    Control characters and ``..`` path components are refused (422); directories are dropped (a browser may send
    ``C:\\Users\\me\\hello.wav``); characters that are special on common file systems become ``_``.
    """
    if name is None:
        return None
    if _CONTROL.search(name):
        raise InvalidInput.field(field, "the file name contains control characters", "invalid_filename")
    parts = re.split(r"[/\\]", name)
    if any(part.strip() == ".." for part in parts):
        raise InvalidInput.field(field, "the file name must not contain a path ('..')", "invalid_filename")
    base = _UNSAFE.sub("_", parts[-1].strip()).lstrip(".").strip()
    if not base:
        return None
    if len(base) > MAX_FILENAME:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: MAX_FILENAME - len(ext) - 1] + dot + ext) if dot and len(ext) <= 16 else base[:MAX_FILENAME]
    return base
