"""Media files, music-on-hold classes and voicemail messages: real audio through HTTP on both backends.

Audio is made in the test (Python's ``wave`` module, ``sox``, ``espeak-ng``) with random content, so that every test
has blobs of its own in the shared blob store. Checked: formats recognised by content (never the name or the declared
type), conversion to 8 kHz mono 16-bit PCM, refusals (not audio, a ZIP, too long, path traversal, too large) that
leave no row and no blob, text to speech, downloads with digest ETags, prompt sets, MOH playlists (same tenant,
playable kinds, one default, in use), voicemail messages (list, read, download, heard/folders, limits, delete),
``store_message``, and blob garbage collection (shared blobs kept, unreferenced ones deleted with media, messages,
mailboxes, extensions and tenants; rollbacks and ``sweep``).
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import shutil
import struct
import subprocess
import tempfile
import time
import wave
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from centrex.db.models.media import MediaFile
from centrex.db.models.tenant import Tenant
from centrex.db.models.voicemail import VoicemailMessage
from centrex.db.uow import UnitOfWork
from centrex.domain.errors import NotFound
from centrex.domain.tenancy import Principal, Role, TenantKind, TenantScope, TenantStatus
from centrex.resources.media import blobs as blob_gc
from centrex.resources.media.schemas import MediaMeta
from centrex.resources.media.service import MediaService
from centrex.resources.voicemail_messages.service import VoicemailMessageService
from centrex.storage.blobs import BlobStore
from tests.api.harness import World, unique
from tests.api.mixins import TenantResourceTests

pytestmark = pytest.mark.skipif(
    shutil.which("sox") is None or shutil.which("espeak-ng") is None,
    reason="sox and espeak-ng are needed (scripts/debian-packages.txt)",
)
_box_numbers = iter(range(7000, 9000))


# ================================================================================================== audio makers
def pcm_wav(seconds: float = 0.5, rate: int = 8000, channels: int = 1, width: int = 2) -> bytes:
    """A WAV file of random samples (unique content, so a blob of its own)."""
    frames = int(seconds * rate)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(os.urandom(frames * channels * width))
    return buf.getvalue()


def sox_audio(kind: str, seconds: float = 1.0, rate: int = 44100, channels: int = 2) -> bytes:
    """A tone made by sox in ``kind`` (``mp3``, ``wav``…), at a random pitch (unique content)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"tone.{kind}"
        freq = random.randint(200, 2000)
        cmd = ["sox", "-n", "-r", str(rate), "-c", str(channels), str(out), "synth", str(seconds), "sine", str(freq)]
        subprocess.run(cmd, check=True, capture_output=True)
        return out.read_bytes()


def lying_wav(seconds: int) -> bytes:
    """A small 8 kHz 16-bit WAV whose header declares ``seconds`` of audio."""
    pcm = os.urandom(1600)
    declared = seconds * 8000 * 2
    header = b"RIFF" + struct.pack("<I", 36 + declared) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
    return header + b"data" + struct.pack("<I", declared) + pcm


def zip_file() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("hello.wav", pcm_wav(0.2))
    return buf.getvalue()


def read_wav(data: bytes) -> tuple[int, int, int, int]:
    """(rate, channels, sample width, frames) of a WAV file."""
    with wave.open(io.BytesIO(data), "rb") as wav:
        return wav.getframerate(), wav.getnchannels(), wav.getsampwidth(), wav.getnframes()


# ======================================================================================================= helpers
def media_url(tenant: dict[str, Any], *rest: str) -> str:
    return "/".join([f"/api/v1/tenants/{tenant['id']}/media", *rest])


def key_of(w: World, tenant: dict[str, Any]) -> dict[str, str]:
    return w.a_key if tenant is w.a else w.b_key


def store(w: World) -> BlobStore:
    return BlobStore(w.api.state.settings.blob_dir)


def blob_files(w: World) -> set[str]:
    return {digest for digest, _mtime in store(w).digests()}


async def upload(
    w: World,
    tenant: dict[str, Any],
    data: bytes,
    filename: str | None = "hello.wav",
    headers: dict[str, str] | None = None,
    content_type: str = "audio/wav",
    **fields: str,
) -> httpx.Response:
    return await post_form(w, tenant, data, filename, content_type, fields, headers or key_of(w, tenant))


async def post_form(
    w: World,
    tenant: dict[str, Any],
    data: bytes,
    filename: str | None,
    content_type: str,
    fields: dict[str, str],
    headers: dict[str, str],
) -> httpx.Response:
    files = {"file": (filename, data, content_type)}
    return await w.client.post(media_url(tenant), files=files, data=fields, headers=headers)


async def media(w: World, tenant: dict[str, Any], data: bytes | None = None, **fields: str) -> dict[str, Any]:
    fields.setdefault("name", unique("prompt"))
    r = await post_form(w, tenant, data or pcm_wav(), "hello.wav", "audio/wav", fields, key_of(w, tenant))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def media_count(w: World, tenant: dict[str, Any]) -> int:
    r = await w.client.get(media_url(tenant), headers=key_of(w, tenant))
    assert r.status_code == 200, r.text
    return int(r.headers["X-Total-Count"])


def problem_of(r: httpx.Response, status: int, code: str | None = None, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = dict(r.json())
    if code is not None:
        codes = {body["code"], *(e.get("code") for e in body.get("errors") or [])}
        assert code in codes, body
    if field is not None:
        assert any(e["field"] == field for e in body["errors"]), body
    return body


async def scope_of(w: World, tenant: dict[str, Any]) -> TenantScope:
    """The scope a tenant administrator of ``tenant`` has (for calling services as the call engine does)."""
    async with UnitOfWork(w.api.state.db, write=False) as uow:
        path = (await uow.session.execute(select(Tenant.path).where(Tenant.id == tenant["id"]))).scalar_one()
    principal = Principal(
        kind="system", id="test", name="test", role=Role.TENANT_ADMIN, tenant_id=tenant["id"], tenant_path=path
    )
    return TenantScope(tenant["id"], path, TenantKind(tenant["kind"]), TenantStatus.ACTIVE, principal)


def multipart(file: bytes, filename: str = "hello.wav", boundary: str = "c3ntr3x-b0undary", **fields: str) -> bytes:
    """A ``multipart/form-data`` body built by hand (a fixed boundary; file names sent as they are)."""
    out = b""
    for name, value in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    out += f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'.encode()
    out += b"Content-Type: audio/wav\r\n\r\n" + file + f"\r\n--{boundary}--\r\n".encode()
    return out


FORM = {"Content-Type": "multipart/form-data; boundary=c3ntr3x-b0undary"}


# =================================================================================================== media files
async def test_upload_wav_is_converted_and_downloaded(world: World) -> None:
    w = world
    source = sox_audio("wav", 1.0, rate=16000, channels=2)
    r = await upload(w, w.a, source, "C:\\Users\\me\\Welcome.wav", name="welcome", language="en-US", kind="prompt")
    assert r.status_code == 201, r.text
    obj = r.json()
    assert r.headers["Location"].endswith(f"/media/{obj['id']}") and r.headers["ETag"]
    assert obj["name"] == "welcome" and obj["kind"] == "prompt" and obj["language"] == "en-US"
    assert obj["source"] == "upload" and obj["original_filename"] == "Welcome.wav"
    assert obj["sample_rate"] == 8000 and 990 <= obj["duration_ms"] <= 1010
    assert store(w).exists(obj["sha256"])
    r = await w.client.get(media_url(w.a, obj["id"], "audio"), headers=w.a_key)
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    assert hashlib.sha256(r.content).hexdigest() == obj["sha256"] and len(r.content) == obj["size_bytes"]
    assert r.headers["ETag"] == f'"{obj["sha256"]}"'
    assert 'filename="welcome.wav"' in r.headers["Content-Disposition"]
    rate, channels, width, frames = read_wav(r.content)
    assert (rate, channels, width) == (8000, 1, 2) and 7900 <= frames <= 8100
    again = await w.client.get(
        media_url(w.a, obj["id"], "audio"), headers={**w.a_key, "If-None-Match": r.headers["ETag"]}
    )
    assert again.status_code == 304 and not again.content
    # The name defaults to the file name without its extension.
    r = await upload(w, w.a, pcm_wav(), f"{unique('greeting')}.wav")
    assert r.status_code == 201 and not r.json()["name"].endswith(".wav")


async def test_canonical_audio_comes_back_byte_for_byte(world: World) -> None:
    w = world
    source = pcm_wav(0.3)
    obj = await media(w, w.a, source)
    r = await w.client.get(media_url(w.a, obj["id"], "audio"), headers=w.a_key)
    assert r.content == source and obj["duration_ms"] == 300


async def test_format_is_sniffed_from_the_bytes_not_the_name_or_type(world: World) -> None:
    w = world
    mp3 = sox_audio("mp3", 2.0)
    # MP3 content named .wav and declared audio/wav is decoded as MP3.
    r = await upload(w, w.a, mp3, "song.wav", content_type="audio/wav", name=unique("mp3"), kind="moh")
    assert r.status_code == 201, r.text
    assert 1900 <= r.json()["duration_ms"] <= 2200 and r.json()["kind"] == "moh"
    # WAV content named .mp3 and declared audio/mpeg is read as WAV.
    r = await upload(w, w.a, pcm_wav(0.25, rate=22050), "x.mp3", content_type="audio/mpeg", name=unique("wav"))
    assert r.status_code == 201, r.text
    assert r.json()["duration_ms"] == 250
    # A raw body (no form): the metadata comes from the query string.
    name = unique("raw")
    r = await w.client.post(
        media_url(w.a),
        params={"name": name, "kind": "greeting"},
        content=sox_audio("mp3", 0.5, rate=8000, channels=1),
        headers={**w.a_key, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["name"] == name and r.json()["kind"] == "greeting"
    # A body that is neither a form nor audio is refused by its content type.
    r = await w.client.post(media_url(w.a), json={"name": "x"}, headers=w.a_key)
    problem_of(r, 415, "unsupported_media_type")


async def test_bad_uploads_are_refused_and_leave_nothing(world: World) -> None:
    w = world
    before, files = await media_count(w, w.a), blob_files(w)
    long_real = pcm_wav(601)  # over the 600-second limit of prompts, its header telling the truth
    cases: list[tuple[bytes, str | None, str, str]] = [
        (zip_file(), "prompt.wav", "unsupported_audio", "file"),
        (b"hello, this is not audio\n" * 10, "prompt.wav", "unsupported_audio", "file"),
        (b"\x89PNG\r\n\x1a\n" + os.urandom(200), "prompt.mp3", "unsupported_audio", "file"),
        (b"", "empty.wav", "empty_file", "file"),
        (b"RIFF\x10\x00\x00\x00WAVEjunkjunk", "broken.wav", "invalid_audio", "file"),
        (lying_wav(2 * 3600), "two-hours.wav", "audio_too_long", "file"),
        (long_real, "long.wav", "audio_too_long", "file"),
        (pcm_wav(0.2), "../../etc/passwd.wav", "invalid_filename", "file"),
        (pcm_wav(0.2), "..\\..\\windows\\evil.wav", "invalid_filename", "file"),
    ]
    for data, filename, code, field in cases:
        r = await upload(w, w.a, data, filename, name=unique("bad"))
        body = problem_of(r, 422, code, field)
        assert body["code"] == "validation_error" and body["request_id"], body
    # A control character in the file name (sent raw: HTTP clients escape it).
    raw = multipart(pcm_wav(0.1), "evil\x01.wav")
    r = await w.client.post(media_url(w.a), content=raw, headers={**w.a_key, **FORM})
    problem_of(r, 422, "invalid_filename", "file")
    # MPEG frames that decode to nothing usable, and a WAV in an encoding sox is not asked to guess.
    riff = pcm_wav(0.1)
    odd_codec = riff[:20] + struct.pack("<H", 0x55) + riff[22:]
    problem_of(await upload(w, w.a, odd_codec, "odd.wav", name=unique("bad")), 422, "unsupported_audio", "file")
    # Bad metadata in the form names its field.
    problem_of(await upload(w, w.a, pcm_wav(0.1), kind="jingle"), 422, field="kind")
    problem_of(await upload(w, w.a, pcm_wav(0.1), name="a/b"), 422, field="name")
    problem_of(await upload(w, w.a, pcm_wav(0.1), colour="red"), 422, field="colour")
    r = await w.client.post(media_url(w.a), files={"audio": ("a.wav", pcm_wav(0.1))}, headers=w.a_key)
    problem_of(r, 422, "extra_forbidden", field="audio")
    r = await w.client.post(media_url(w.a), files={"name": (None, "no-file")}, headers=w.a_key)
    problem_of(r, 422, "missing", field="file")
    r = await w.client.post(media_url(w.a), content=b"--x\r\nnonsense", headers={**w.a_key, **FORM})
    problem_of(r, 422, "malformed_multipart", field="body")
    # Larger than the upload limit: 413 before the body is read.
    limit = w.api.state.settings.max_upload_bytes
    r = await w.client.post(
        media_url(w.a), content=b"\0" * (limit + 1), headers={**w.a_key, "Content-Type": "audio/wav"}
    )
    problem_of(r, 413, "payload_too_large")
    assert await media_count(w, w.a) == before
    assert blob_files(w) == files  # no blob written for any refused upload


async def test_text_to_speech(world: World) -> None:
    w = world
    url = media_url(w.a, "tts")
    name = unique("tts")
    r = await w.client.post(
        url,
        json={"name": name, "text": "Welcome to Centrex. Press one for sales.", "language": "en-GB"},
        headers=w.a_key,
    )
    assert r.status_code == 201, r.text
    obj = r.json()
    assert obj["source"] == "tts" and obj["tts_voice"] == "en-gb" and obj["tts_text"].startswith("Welcome")
    assert obj["duration_ms"] > 1000 and obj["sample_rate"] == 8000
    audio = await w.client.get(media_url(w.a, obj["id"], "audio"), headers=w.a_key)
    assert read_wav(audio.content)[:3] == (8000, 1, 2)
    r = await w.client.post(url, json={"name": unique("tts"), "text": "Bonjour", "voice": "fr-fr+f3"}, headers=w.a_key)
    assert r.status_code == 201 and r.json()["tts_voice"] == "fr-fr+f3", r.text
    before = await media_count(w, w.a)
    for body, field in [
        ({"name": unique("t"), "text": "hi", "voice": "klingon"}, "voice"),
        ({"name": unique("t"), "text": "hi", "voice": "en-us; rm -rf /"}, "voice"),
        ({"name": unique("t"), "text": "hi", "language": "tlh-KX"}, "language"),
        ({"name": unique("t"), "text": "   "}, "body"),
        ({"name": unique("t"), "text": "x" * 2001}, "text"),
        ({"name": name, "text": "duplicate name"}, "name"),
        ({"name": unique("t"), "text": "hi", "kind": "system"}, "kind"),
    ]:
        r = await w.client.post(url, json=body, headers=w.a_key)
        assert r.status_code in (409, 422), (body, r.text)
        problem = r.json()
        if r.status_code == 409:
            assert problem["code"] == "duplicate" and field == "name", problem
        else:
            assert any(e["field"].startswith(field) for e in problem["errors"]), problem
    assert await media_count(w, w.a) == before
    r = await w.client.post(url, json={"name": unique("t"), "text": "hi"}, headers=w.a_ro)
    assert r.status_code == 403


async def test_metadata_list_update_and_the_usual_rules(world: World) -> None:
    w = world
    a1 = await media(w, w.a, name=unique("alpha"), kind="moh")
    a2 = await media(w, w.a, name=unique("beta"), language="fr-FR", prompt_key="vm-goodbye")
    r = await w.client.get(media_url(w.a), params={"kind": "moh"}, headers=w.a_key)
    assert a1["id"] in [i["id"] for i in r.json()["items"]] and a2["id"] not in [i["id"] for i in r.json()["items"]]
    r = await w.client.get(media_url(w.a), params={"prompt_key": "vm-goodbye", "language": "fr-FR"}, headers=w.a_key)
    assert [i["id"] for i in r.json()["items"]] == [a2["id"]]
    r = await w.client.get(media_url(w.a), params={"q": a1["name"][2:].upper()}, headers=w.a_key)
    assert [i["id"] for i in r.json()["items"]] == [a1["id"]]
    # Update: ETag changes, If-Match is honoured, names stay unique, "system" is not for tenants.
    r = await w.client.get(media_url(w.a, a1["id"]), headers=w.a_key)
    etag = r.headers["ETag"]
    r = await w.client.patch(
        media_url(w.a, a1["id"]), json={"name": "renamed"}, headers={**w.a_key, "If-Match": '"999"'}
    )
    problem_of(r, 412, "precondition_failed")
    new_name = unique("renamed")
    r = await w.client.patch(media_url(w.a, a1["id"]), json={"name": new_name}, headers={**w.a_key, "If-Match": etag})
    assert r.status_code == 200 and r.json()["name"] == new_name and r.headers["ETag"] != etag
    problem_of(
        await w.client.patch(media_url(w.a, a2["id"]), json={"name": new_name}, headers=w.a_key), 409, "duplicate"
    )
    problem_of(await upload(w, w.a, pcm_wav(0.1), name=new_name), 409, "duplicate")
    problem_of(
        await w.client.patch(media_url(w.a, a2["id"]), json={"kind": "system"}, headers=w.a_key), 422, field="kind"
    )
    problem_of(await w.client.patch(media_url(w.a, a2["id"]), json={"name": None}, headers=w.a_key), 422)
    problem_of(await w.client.patch(media_url(w.a, a2["id"]), json={"sha256": "0" * 64}, headers=w.a_key), 422)
    # Another tenant sees nothing of it, for every verb.
    for method, url in [
        ("GET", media_url(w.a, a1["id"])),
        ("GET", media_url(w.a, a1["id"], "audio")),
        ("PATCH", media_url(w.a, a1["id"])),
        ("DELETE", media_url(w.a, a1["id"])),
        ("GET", media_url(w.b, a1["id"])),
        ("GET", media_url(w.b, a1["id"], "audio")),
        ("DELETE", media_url(w.b, a1["id"])),
    ]:
        r = await w.client.request(method, url, json={"name": "x"} if method == "PATCH" else None, headers=w.b_key)
        assert r.status_code == 404, (method, url, r.text)
    r = await upload(w, w.a, pcm_wav(0.1), headers=w.b_key)
    assert r.status_code == 404
    # Read-only keys read but do not write.
    assert (await w.client.get(media_url(w.a, a1["id"], "audio"), headers=w.a_ro)).status_code == 200
    assert (await upload(w, w.a, pcm_wav(0.1), headers=w.a_ro)).status_code == 403
    assert (await w.client.patch(media_url(w.a, a1["id"]), json={"name": "x"}, headers=w.a_ro)).status_code == 403
    assert (await w.client.delete(media_url(w.a, a1["id"]), headers=w.a_ro)).status_code == 403
    # Audited and evented like everything else.
    r = await w.client.get(f"/api/v1/tenants/{w.a['id']}/events", params={"resource_id": a1["id"]}, headers=w.a_key)
    assert [e["type"] for e in r.json()["items"]][:2] == ["media.created", "media.updated"]


async def test_upload_with_idempotency_key_is_replayed(world: World) -> None:
    w = world
    before = await media_count(w, w.a)
    body = multipart(pcm_wav(0.2), name=unique("idem"))
    headers = {**w.a_key, **FORM, "Idempotency-Key": unique("idem-media")}
    first = await w.client.post(media_url(w.a), content=body, headers=headers)
    again = await w.client.post(media_url(w.a), content=body, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true"
    assert await media_count(w, w.a) == before + 1


async def test_replace_audio_keeps_the_id_and_drops_the_old_blob(world: World) -> None:
    w = world
    obj = await media(w, w.a)
    old = obj["sha256"]
    new_audio = pcm_wav(0.4)
    r = await w.client.put(media_url(w.a, obj["id"], "audio"), files={"file": ("new.wav", new_audio)}, headers=w.a_key)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == obj["id"] and r.json()["sha256"] != old and r.json()["duration_ms"] == 400
    assert r.json()["original_filename"] == "new.wav"
    assert (await w.client.get(media_url(w.a, obj["id"], "audio"), headers=w.a_key)).content == new_audio
    assert not store(w).exists(old) and store(w).exists(r.json()["sha256"])
    # A refused replacement changes nothing.
    r = await w.client.put(media_url(w.a, obj["id"], "audio"), files={"file": ("x.wav", zip_file())}, headers=w.a_key)
    problem_of(r, 422, "unsupported_audio", "file")
    assert (await w.client.get(media_url(w.a, obj["id"]), headers=w.a_key)).json()["duration_ms"] == 400


async def test_shared_blobs_survive_until_their_last_user_goes(world: World) -> None:
    w = world
    data = pcm_wav(0.2)
    first = await media(w, w.a, data)
    second = await media(w, w.a, data)
    other = await media(w, w.b, data)
    digest = first["sha256"]
    assert second["sha256"] == other["sha256"] == digest
    for obj, tenant in ((first, w.a), (other, w.b)):
        r = await w.client.delete(media_url(tenant, obj["id"]), headers=key_of(w, tenant))
        assert r.status_code == 204
        assert store(w).exists(digest)
    assert (await w.client.get(media_url(w.a, second["id"], "audio"), headers=w.a_key)).status_code == 200
    assert (await w.client.delete(media_url(w.a, second["id"]), headers=w.a_key)).status_code == 204
    assert not store(w).exists(digest)
    assert (await w.client.get(media_url(w.a, second["id"], "audio"), headers=w.a_key)).status_code == 404


async def test_media_in_use_is_409_and_keeps_its_blob(world: World) -> None:
    w = world
    obj = await media(w, w.a, kind="moh")
    moh = await w.client.post(
        f"/api/v1/tenants/{w.a['id']}/moh-classes",
        json={"name": unique("moh"), "media_ids": [obj["id"]]},
        headers=w.a_key,
    )
    assert moh.status_code == 201, moh.text
    r = await w.client.delete(media_url(w.a, obj["id"]), headers=w.a_key)
    body = problem_of(r, 409, "in_use")
    assert any(ref["id"] == moh.json()["id"] for ref in body["references"]), body
    assert store(w).exists(obj["sha256"])
    r = await w.client.patch(
        f"/api/v1/tenants/{w.a['id']}/moh-classes/{moh.json()['id']}", json={"media_ids": []}, headers=w.a_key
    )
    assert r.status_code == 200
    assert (await w.client.delete(media_url(w.a, obj["id"]), headers=w.a_key)).status_code == 204
    assert not store(w).exists(obj["sha256"])


async def test_prompt_sets_overlay_tenant_prompts_on_system_prompts(world: World) -> None:
    w = world
    key = unique("p").lower()
    r = await upload(
        w,
        w.reseller,
        pcm_wav(0.2),
        headers=w.reseller_key,
        name=unique("sys"),
        kind="system",
        language="en-US",
        prompt_key=key,
    )
    assert r.status_code == 201, r.text
    system = r.json()
    url = f"/api/v1/tenants/{w.a['id']}/prompt-sets/en-US"
    r = await w.client.get(url, headers=w.a_key)
    assert r.status_code == 200, r.text
    entry = r.json()["prompts"][key]
    assert entry["source"] == "inherited" and entry["media_id"] == system["id"]
    assert entry["owner_tenant_id"] == w.reseller["id"]
    audio = await w.client.get(f"{url}/{key}/audio", headers=w.a_key)
    assert audio.status_code == 200 and hashlib.sha256(audio.content).hexdigest() == system["sha256"]
    # The tenant's own file with that key and language wins; other tenants keep the system prompt.
    own = await media(w, w.a, language="en-US", prompt_key=key)
    entry = (await w.client.get(url, headers=w.a_key)).json()["prompts"][key]
    assert entry["source"] == "tenant" and entry["media_id"] == own["id"]
    entry = (await w.client.get(f"/api/v1/tenants/{w.b['id']}/prompt-sets/en-US", headers=w.b_key)).json()
    assert entry["prompts"][key]["media_id"] == system["id"]
    assert (
        key
        not in (await w.client.get(f"/api/v1/tenants/{w.a['id']}/prompt-sets/fr-FR", headers=w.a_key)).json()["prompts"]
    )
    assert (await w.client.get(f"{url}/no-such-key/audio", headers=w.a_key)).status_code == 404
    # Tenants cannot make system prompts.
    problem_of(await upload(w, w.a, pcm_wav(0.1), kind="system"), 422, field="kind")


# ============================================================================================ music-on-hold classes
async def _moh_media(w: World, tenant: dict[str, Any], kind: str = "moh") -> str:
    """A media file of ``tenant`` (written directly: these tests are about playlists, not audio)."""
    async with UnitOfWork(w.api.state.db) as uow:
        row = MediaFile(tenant_id=tenant["id"], name=unique("song"), kind=kind, blob_sha256="0" * 64)
        uow.session.add(row)
        await uow.session.flush()
        await uow.commit()
        return row.id


class TestMohClasses(TenantResourceTests):
    plural = "moh-classes"
    resource = "moh_class"
    invalid = [
        ({"name": ""}, "name"),
        ({"name": "bad\nname"}, "name"),
        ({"media_ids": ["med_nope"]}, "media_ids.0"),
        ({"media_ids": "med_x"}, "media_ids"),
        ({"random": "sometimes"}, "random"),
    ]

    async def payload(self, w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        return {"name": unique("Jazz "), "media_ids": [await _moh_media(w, tenant), await _moh_media(w, tenant)]}

    def update(self) -> dict[str, Any]:
        return {"name": "Blues", "random": True}


async def test_moh_playlists_are_ordered_same_tenant_and_playable(world: World) -> None:
    w = world
    url = f"/api/v1/tenants/{w.a['id']}/moh-classes"
    songs = [await _moh_media(w, w.a) for _ in range(3)]
    prompt = await _moh_media(w, w.a, "prompt")
    r = await w.client.post(url, json={"name": unique("m"), "media_ids": [songs[2], prompt, songs[0]]}, headers=w.a_key)
    assert r.status_code == 201 and r.json()["media_ids"] == [songs[2], prompt, songs[0]], r.text
    moh = r.json()
    r = await w.client.get(url, params={"media_id": prompt}, headers=w.a_key)
    assert [i["id"] for i in r.json()["items"]] == [moh["id"]]
    foreign = await _moh_media(w, w.b)
    greeting = await _moh_media(w, w.a, "greeting")
    for ids, status, code, field in [
        ([songs[0], foreign], 422, "invalid_reference", "media_ids.1"),
        ([greeting], 422, "validation_error", "media_ids.0"),
        ([songs[0], songs[0]], 422, "validation_error", "media_ids"),
    ]:
        r = await w.client.patch(f"{url}/{moh['id']}", json={"media_ids": ids}, headers=w.a_key)
        body = problem_of(r, status, field=field)
        assert body["code"] == code, body
        r = await w.client.post(url, json={"name": unique("m"), "media_ids": ids}, headers=w.a_key)
        problem_of(r, status, field=field)
    assert (await w.client.get(f"{url}/{moh['id']}", headers=w.a_key)).json()["media_ids"] == moh["media_ids"]
    problem_of(await w.client.post(url, json={"name": moh["name"]}, headers=w.a_key), 409, "duplicate")


async def test_one_default_moh_class_and_in_use_classes_stay(world: World) -> None:
    w = world
    url = f"/api/v1/tenants/{w.a['id']}/moh-classes"
    first = (await w.client.post(url, json={"name": unique("d"), "is_default": True}, headers=w.a_key)).json()
    second = (await w.client.post(url, json={"name": unique("d"), "is_default": True}, headers=w.a_key)).json()
    assert second["is_default"] is True
    assert (await w.client.get(f"{url}/{first['id']}", headers=w.a_key)).json()["is_default"] is False
    r = await w.client.patch(f"{url}/{first['id']}", json={"is_default": True}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["is_default"] is True
    defaults = (await w.client.get(url, params={"is_default": True}, headers=w.a_key)).json()["items"]
    assert [d["id"] for d in defaults] == [first["id"]]
    # A conference playing the class keeps it (409 naming the room); another tenant cannot point at it.
    conf = await w.client.post(
        f"/api/v1/tenants/{w.a['id']}/conferences",
        json={"number": str(next(_box_numbers)), "name": "Standup", "moh_class_id": second["id"]},
        headers=w.a_key,
    )
    assert conf.status_code == 201, conf.text
    body = problem_of(await w.client.delete(f"{url}/{second['id']}", headers=w.a_key), 409, "in_use")
    assert body["references"][0]["id"] == conf.json()["id"]
    r = await w.client.post(
        f"/api/v1/tenants/{w.b['id']}/conferences",
        json={"number": str(next(_box_numbers)), "name": "Standup", "moh_class_id": second["id"]},
        headers=w.b_key,
    )
    problem_of(r, 422, "invalid_reference", "moh_class_id")
    assert (await w.client.get(f"{url}/{second['id']}", headers=w.a_key)).status_code == 200


async def test_moh_class_played_by_a_ring_group_is_in_use(world: World) -> None:
    w = world
    url = f"/api/v1/tenants/{w.a['id']}/moh-classes"
    moh = (await w.client.post(url, json={"name": unique("rg")}, headers=w.a_key)).json()
    ext = await w.api.extension(w.a["id"], w.a_key)
    group = await w.client.post(
        f"/api/v1/tenants/{w.a['id']}/ring-groups",
        json={
            "number": str(next(_box_numbers)),
            "name": "Sales",
            "members": [{"type": "extension", "extension_id": ext["id"]}],
            "moh_class_id": moh["id"],
        },
        headers=w.a_key,
    )
    assert group.status_code == 201, group.text
    problem_of(await w.client.delete(f"{url}/{moh['id']}", headers=w.a_key), 409, "in_use")


# ============================================================================================= voicemail messages
async def vm_box(w: World, tenant: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {"number": str(next(_box_numbers)), "name": "Shared box", **extra}
    r = await w.client.post(f"/api/v1/tenants/{tenant['id']}/voicemail-boxes", json=body, headers=key_of(w, tenant))
    assert r.status_code == 201, r.text
    return dict(r.json())


def msg_url(tenant: dict[str, Any], box_id: str, *rest: str) -> str:
    return "/".join([f"/api/v1/tenants/{tenant['id']}/voicemail-boxes/{box_id}/messages", *rest])


async def leave(
    w: World, tenant: dict[str, Any], box_id: str, data: bytes | None = None, **fields: str
) -> httpx.Response:
    files = {"file": ("message.wav", data or pcm_wav(0.5), "audio/wav")}
    return await w.client.post(msg_url(tenant, box_id), files=files, data=fields, headers=key_of(w, tenant))


async def test_voicemail_messages_list_read_download_mark_and_delete(world: World) -> None:
    w = world
    box = await vm_box(w, w.a)
    url = msg_url(w.a, box["id"])
    r = await leave(
        w, w.a, box["id"], caller_number="+14155550100", caller_name="Bob", received_at="2026-01-02T03:04:05Z"
    )
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["folder"] == "inbox" and first["heard"] is False and first["duration_ms"] == 500
    assert first["caller_number"] == "+14155550100" and first["received_at"].startswith("2026-01-02T03:04:05")
    second = (await leave(w, w.a, box["id"], sox_audio("mp3", 1.0))).json()
    r = await w.client.get(url, headers=w.a_key)
    assert r.status_code == 200 and r.headers["X-Total-Count"] == "2"
    assert [m["id"] for m in r.json()["items"]] == [second["id"], first["id"]]  # newest first
    assert (await w.client.get(msg_url(w.a, box["id"], first["id"]), headers=w.a_key)).json() == first
    audio = await w.client.get(msg_url(w.a, box["id"], first["id"], "audio"), headers=w.a_key)
    assert audio.status_code == 200 and hashlib.sha256(audio.content).hexdigest() == first["sha256"]
    assert read_wav(audio.content)[:3] == (8000, 1, 2)
    # Mark read moves inbox → old, unread moves it back; folders can be set explicitly.
    one = msg_url(w.a, box["id"], first["id"])
    r = await w.client.patch(one, json={"heard": True}, headers=w.a_key)
    assert r.status_code == 200 and (r.json()["heard"], r.json()["folder"]) == (True, "old")
    assert [
        m["id"] for m in (await w.client.get(url, params={"folder": "inbox"}, headers=w.a_key)).json()["items"]
    ] == [second["id"]]
    r = await w.client.patch(one, json={"heard": False}, headers=w.a_key)
    assert (r.json()["heard"], r.json()["folder"]) == (False, "inbox")
    r = await w.client.patch(one, json={"folder": "saved", "heard": True}, headers=w.a_key)
    assert (r.json()["heard"], r.json()["folder"]) == (True, "saved")
    problem_of(await w.client.patch(one, json={"folder": "trash"}, headers=w.a_key), 422, field="folder")
    problem_of(await w.client.patch(one, json={"heard": None}, headers=w.a_key), 422)
    problem_of(await w.client.patch(one, json={"heard": True}, headers={**w.a_key, "If-Match": '"9"'}), 412)
    # Other tenants, other boxes and read-only keys.
    other_box = await vm_box(w, w.a)
    assert (await w.client.get(msg_url(w.a, other_box["id"], first["id"]), headers=w.a_key)).status_code == 404
    for method in ("GET", "PATCH", "DELETE"):
        r = await w.client.request(method, one, json={"heard": True} if method == "PATCH" else None, headers=w.b_key)
        assert r.status_code == 404, (method, r.text)
    assert (await w.client.get(msg_url(w.b, box["id"]), headers=w.b_key)).status_code == 404
    assert (await w.client.get(msg_url(w.a, "vmb_nope"), headers=w.a_key)).status_code == 404
    assert (await w.client.patch(one, json={"heard": True}, headers=w.a_ro)).status_code == 403
    assert (await w.client.delete(one, headers=w.a_ro)).status_code == 403
    # Delete: gone, with its blob.
    assert (await w.client.delete(one, headers=w.a_key)).status_code == 204
    assert (await w.client.get(one, headers=w.a_key)).status_code == 404
    assert not store(w).exists(first["sha256"]) and store(w).exists(second["sha256"])
    assert (await w.client.get(url, headers=w.a_key)).headers["X-Total-Count"] == "1"


async def test_voicemail_upload_limits_and_refusals(world: World) -> None:
    w = world
    box = await vm_box(w, w.a, max_message_seconds=10, max_messages=1)
    files = blob_files(w)
    for data, fields, code, field in [
        (pcm_wav(11), {}, "audio_too_long", "file"),
        (lying_wav(2 * 3600), {}, "audio_too_long", "file"),
        (zip_file(), {}, "unsupported_audio", "file"),
        (pcm_wav(0.2), {"received_at": "yesterday"}, None, "received_at"),
        (pcm_wav(0.2), {"caller_name": "a\nb"}, None, "caller_name"),
        (pcm_wav(0.2), {"folder": "old"}, None, "folder"),
    ]:
        problem_of(await leave(w, w.a, box["id"], data, **fields), 422, code, field)
    assert (await leave(w, w.a, box["id"], pcm_wav(1))).status_code == 201
    problem_of(await leave(w, w.a, box["id"], pcm_wav(1)), 409, "limit_exceeded")
    assert (await w.client.get(msg_url(w.a, box["id"]), headers=w.a_key)).headers["X-Total-Count"] == "1"
    assert len(blob_files(w) - files) == 1


async def test_store_message_is_how_the_engine_leaves_a_message(world: World) -> None:
    w = world
    box = await vm_box(w, w.a)
    audio = sox_audio("wav", 1.5, rate=8000, channels=1)
    async with UnitOfWork(w.api.state.db) as uow:
        svc = VoicemailMessageService(uow, w.api.state)
        msg = await svc.store_message(
            await scope_of(w, w.a), box["id"], audio, "+15550001", "Alice", datetime(2026, 3, 1, 12, 0), call_id="c-1"
        )
        await uow.commit()
    r = await w.client.get(msg_url(w.a, box["id"], msg.id), headers=w.a_key)
    assert r.status_code == 200
    body = r.json()
    assert body["caller_name"] == "Alice" and body["call_id"] == "c-1" and body["folder"] == "inbox"
    assert body["received_at"].startswith("2026-03-01T12:00:00") and 1490 <= body["duration_ms"] <= 1510
    events = await w.client.get(f"/api/v1/tenants/{w.a['id']}/events", params={"resource_id": msg.id}, headers=w.a_key)
    assert "voicemail.left" in [e["type"] for e in events.json()["items"]]
    # Another tenant's box is not there; nothing is stored for it.
    files = blob_files(w)
    async with UnitOfWork(w.api.state.db) as uow:
        svc = VoicemailMessageService(uow, w.api.state)
        with pytest.raises(NotFound):
            await svc.store_message(await scope_of(w, w.b), box["id"], pcm_wav(0.2), None, None, None)
    assert blob_files(w) == files


# ================================================================================================ garbage collection
async def test_deleting_a_mailbox_an_extension_or_a_tenant_deletes_their_blobs(world: World) -> None:
    w = world
    # A shared box with two messages; one of them shares its audio with a media file, which keeps it.
    shared = pcm_wav(0.3)
    keeper = await media(w, w.a, shared)
    box = await vm_box(w, w.a)
    own = (await leave(w, w.a, box["id"])).json()
    same = (await leave(w, w.a, box["id"], shared)).json()
    assert same["sha256"] == keeper["sha256"]
    r = await w.client.delete(f"/api/v1/tenants/{w.a['id']}/voicemail-boxes/{box['id']}", headers=w.a_key)
    assert r.status_code == 204, r.text
    assert not store(w).exists(own["sha256"]) and store(w).exists(keeper["sha256"])
    # An extension's personal box goes with the extension, and its messages' blobs with it.
    ext = await w.api.extension(w.a["id"], w.a_key)
    boxes = await w.client.get(
        f"/api/v1/tenants/{w.a['id']}/voicemail-boxes", params={"owner_extension_id": ext["id"]}, headers=w.a_key
    )
    personal = boxes.json()["items"][0]
    msg = (await leave(w, w.a, personal["id"])).json()
    assert store(w).exists(msg["sha256"])
    assert (
        await w.client.delete(f"/api/v1/tenants/{w.a['id']}/extensions/{ext['id']}", headers=w.a_key)
    ).status_code == 204
    assert not store(w).exists(msg["sha256"])
    # A deleted tenant takes its media and messages along (the audio it shares with another tenant stays).
    doomed = await w.api.tenant(parent=w.reseller["id"])
    doomed_key = await w.api.key(doomed["id"])
    made = []
    for data in (pcm_wav(0.2), shared):
        r = await upload(w, doomed, data, headers=doomed_key, name=unique("m"))
        assert r.status_code == 201, r.text
        made.append(r.json()["sha256"])
    r = await w.client.post(
        f"/api/v1/tenants/{doomed['id']}/voicemail-boxes", json={"number": "5000", "name": "x"}, headers=doomed_key
    )
    files = {"file": ("m.wav", pcm_wav(0.2), "audio/wav")}
    r = await w.client.post(msg_url(doomed, r.json()["id"]), files=files, headers=doomed_key)
    assert r.status_code == 201, r.text
    made.append(r.json()["sha256"])
    r = await w.client.delete(f"/api/v1/tenants/{doomed['id']}", headers=w.reseller_key)
    assert r.status_code == 204, r.text
    assert [store(w).exists(d) for d in made] == [False, True, False]


async def test_rolled_back_uploads_leave_no_blob(world: World) -> None:
    w = world
    data = pcm_wav(0.2)
    digest = hashlib.sha256(data).hexdigest()
    async with UnitOfWork(w.api.state.db) as uow:
        svc = MediaService(uow, w.api.state)
        row = await svc.upload(await scope_of(w, w.a), MediaMeta(name=unique("rb")), data, "rb.wav")
        assert row.blob_sha256 == digest and store(w).exists(digest)
        # leaving without commit rolls back
    assert not store(w).exists(digest)
    # The same for a message left by the engine in a transaction that fails later.
    box = await vm_box(w, w.a)
    async with UnitOfWork(w.api.state.db) as uow:
        svc_vm = VoicemailMessageService(uow, w.api.state)
        msg = await svc_vm.store_message(await scope_of(w, w.a), box["id"], data, "+1555", None, None)
        assert msg.blob_sha256 == digest and store(w).exists(digest)
    assert not store(w).exists(digest)
    async with UnitOfWork(w.api.state.db) as uow:
        assert (await uow.session.execute(select(MediaFile).where(MediaFile.blob_sha256 == digest))).first() is None
        assert (
            await uow.session.execute(select(VoicemailMessage).where(VoicemailMessage.blob_sha256 == digest))
        ).first() is None


async def test_sweep_collects_old_orphans_only(world: World) -> None:
    w = world
    blobs = store(w)
    orphan = blobs.put(os.urandom(64))
    fresh_orphan = blobs.put(os.urandom(64))
    used = (await media(w, w.a))["sha256"]
    past = time.time() - 7200
    for digest in (orphan, used):
        os.utime(blobs.path(digest), (past, past))
    async with UnitOfWork(w.api.state.db) as uow:
        removed = await blob_gc.sweep(uow.session, blobs, min_age=3600)
    assert removed >= 1
    assert not blobs.exists(orphan) and blobs.exists(used) and blobs.exists(fresh_orphan)
    blobs.discard_unreferenced([fresh_orphan], set())
