"""Media file rules: uploads are recognised, checked and converted before anything is stored; names are unique per
tenant; ``system`` prompts belong to the platform or a reseller; a blob is removed when its last user goes; the
effective prompt set of a tenant overlays its own files on the system prompts of the tenants above it."""

from __future__ import annotations

import asyncio
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, select

from centrex.db.models.media import MediaFile
from centrex.domain.errors import Duplicate, InvalidInput, NotFound
from centrex.domain.tenancy import TenantKind, TenantScope
from centrex.media import audiofile
from centrex.resources.common import TenantRepository, apply_changes, check_etag
from centrex.resources.media import blobs
from centrex.resources.media.schemas import MediaFilters, MediaMeta, MediaOut, MediaTts, MediaUpdate, PromptEntry
from centrex.resources.service import ResourceService
from centrex.storage.blobs import BlobStore


class MediaRepository(TenantRepository[MediaFile]):
    model = MediaFile
    sortable = {"name": MediaFile.name, "kind": MediaFile.kind, "duration_ms": MediaFile.duration_ms}
    default_sort = "name"


class MediaService(ResourceService[MediaFile]):
    repository = MediaRepository
    out_model = MediaOut

    @property
    def blobs(self) -> BlobStore:
        return BlobStore(self.state.settings.blob_dir)

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        assert isinstance(filters, MediaFilters)
        conds: list[ColumnElement[bool]] = []
        if filters.kind:
            conds.append(MediaFile.kind == filters.kind)
        if filters.language:
            conds.append(MediaFile.language == filters.language)
        if filters.prompt_key:
            conds.append(MediaFile.prompt_key == filters.prompt_key)
        if filters.q:
            conds.append(func.lower(MediaFile.name).like(f"%{filters.q.lower()}%"))
        return conds

    # ------------------------------------------------------------------------------------------- checks
    async def _check(self, scope: TenantScope, name: str, kind: str, current: MediaFile | None) -> None:
        if kind == "system" and scope.tenant_kind is TenantKind.TENANT:
            raise InvalidInput.field(
                "kind", "'system' prompts belong to the platform or a reseller; use 'prompt' in a tenant"
            )
        existing = await self.repo.find(scope, MediaFile.name == name)
        if existing is not None and existing is not current:
            raise Duplicate(f"a media file named {name!r} already exists in this tenant", field="name")

    async def convert(self, data: bytes, max_seconds: int = audiofile.DEFAULT_MAX_SECONDS) -> audiofile.Audio:
        """Check and convert uploaded audio (in a worker thread: sox may take a moment)."""
        settings = self.state.settings
        return await asyncio.to_thread(
            audiofile.convert, data, max_seconds=max_seconds, max_bytes=settings.max_upload_bytes
        )

    def _store(self, audio: audiofile.Audio) -> str:
        return blobs.store(self.session, self.blobs, audio.wav)

    # --------------------------------------------------------------------------------------- create
    async def upload(self, scope: TenantScope, meta: MediaMeta, data: bytes, filename: str | None) -> MediaFile:
        """A media file from uploaded audio (WAV or MP3), stored as 8 kHz mono 16-bit PCM."""
        original = audiofile.safe_filename(filename)
        name = meta.name or (PurePath(original).stem.strip()[:100] if original else "")
        if not name:
            raise InvalidInput.field("name", "required (or send a file name to take it from)")
        await self._check(scope, name, meta.kind, None)
        audio = await self.convert(data)
        row = MediaFile(
            tenant_id=scope.tenant_id,
            name=name,
            kind=meta.kind,
            language=meta.language,
            prompt_key=meta.prompt_key,
            blob_sha256=blobs.digest_of(audio.wav),
            size_bytes=audio.size,
            duration_ms=audio.duration_ms,
            sample_rate=audio.sample_rate,
            original_filename=original,
            source="system" if meta.kind == "system" else "upload",
        )
        self.repo.add(row)
        await self.session.flush()
        self._store(audio)
        return row

    async def tts(self, scope: TenantScope, data: MediaTts) -> MediaFile:
        """A media file spoken by espeak-ng from ``data.text``."""
        await self._check(scope, data.name, data.kind, None)
        voice = await asyncio.to_thread(audiofile.choose_voice, data.language, data.voice)  # first call runs espeak-ng
        audio = await asyncio.to_thread(audiofile.synthesize, data.text, voice)
        row = MediaFile(
            tenant_id=scope.tenant_id,
            name=data.name,
            kind=data.kind,
            language=data.language,
            prompt_key=data.prompt_key,
            blob_sha256=blobs.digest_of(audio.wav),
            size_bytes=audio.size,
            duration_ms=audio.duration_ms,
            sample_rate=audio.sample_rate,
            source="tts",
            tts_text=data.text,
            tts_voice=voice,
        )
        self.repo.add(row)
        await self.session.flush()
        self._store(audio)
        return row

    # --------------------------------------------------------------------------------- update, delete
    async def update(self, scope: TenantScope, obj_id: str, data: MediaUpdate, if_match: str | None) -> MediaFile:
        row = await self.get(scope, obj_id)
        check_etag(row, if_match)
        given = data.model_fields_set
        changes: dict[str, Any] = data.model_dump(include=given)
        name = changes.get("name", row.name)
        kind = changes.get("kind", row.kind)
        if name != row.name or kind != row.kind:
            await self._check(scope, name, kind, row)
        apply_changes(row, changes)
        await self.session.flush()
        return row

    async def replace_audio(
        self, scope: TenantScope, obj_id: str, data: bytes, filename: str | None, if_match: str | None
    ) -> MediaFile:
        """New audio for an existing media file (same id, so references stay); the old blob goes if unused."""
        row = await self.get(scope, obj_id)
        check_etag(row, if_match)
        original = audiofile.safe_filename(filename)
        audio = await self.convert(data)
        old = row.blob_sha256
        apply_changes(
            row,
            {
                "blob_sha256": blobs.digest_of(audio.wav),
                "size_bytes": audio.size,
                "duration_ms": audio.duration_ms,
                "sample_rate": audio.sample_rate,
                "original_filename": original,
                "source": "system" if row.kind == "system" else "upload",
                "tts_text": None,
                "tts_voice": None,
            },
        )
        await self.session.flush()
        self._store(audio)
        await blobs.release(self.session, self.blobs, {old})
        return row

    async def delete(self, scope: TenantScope, obj_id: str, if_match: str | None) -> None:
        row = await self.get(scope, obj_id)
        check_etag(row, if_match)
        digest = row.blob_sha256
        await self.repo.delete(row)  # refused with 409 in_use while IVRs, MOH classes, boxes… refer to it
        await blobs.release(self.session, self.blobs, {digest})

    # ------------------------------------------------------------------------------------------ audio
    def read_blob(self, digest: str, what: str) -> bytes:
        try:
            return self.blobs.get(digest)
        except (FileNotFoundError, ValueError):
            raise NotFound(f"the audio of {what} is missing from the blob store") from None

    async def audio(self, scope: TenantScope, obj_id: str) -> tuple[MediaFile, bytes]:
        row = await self.get(scope, obj_id)
        return row, self.read_blob(row.blob_sha256, f"media file {row.id}")

    # ------------------------------------------------------------------------------------- prompt sets
    async def prompt_set(self, scope: TenantScope, language: str) -> dict[str, tuple[PromptEntry, MediaFile]]:
        """The effective prompts for ``language``: the tenant's files with a prompt key, over the ``system``
        prompts of the tenants above it (the nearest one wins)."""
        lineage = [t for t in scope.tenant_path.strip("/").split("/") if t]
        if scope.tenant_id not in lineage:
            lineage.append(scope.tenant_id)
        rank = {tenant_id: i for i, tenant_id in enumerate(lineage)}
        rows = (
            (
                await self.session.execute(
                    select(MediaFile)
                    .where(
                        MediaFile.tenant_id.in_(lineage),
                        MediaFile.language == language,
                        MediaFile.prompt_key.is_not(None),
                    )
                    .order_by(MediaFile.id)
                )
            )
            .scalars()
            .all()
        )
        best: dict[str, tuple[int, MediaFile]] = {}
        own_level = len(lineage)
        for row in rows:  # oldest first: at the same level the newest file wins
            own = row.tenant_id == scope.tenant_id
            if not own and row.kind != "system":
                continue
            key = str(row.prompt_key)
            level = own_level if own else rank[row.tenant_id]
            if key not in best or level >= best[key][0]:
                best[key] = (level, row)
        result: dict[str, tuple[PromptEntry, MediaFile]] = {}
        for key in sorted(best):
            row = best[key][1]
            entry = PromptEntry(
                media_id=row.id,
                name=row.name,
                source="tenant" if row.tenant_id == scope.tenant_id else "inherited",
                owner_tenant_id=row.tenant_id,
                duration_ms=row.duration_ms,
                sha256=row.blob_sha256,
            )
            result[key] = (entry, row)
        return result

    async def prompt_audio(self, scope: TenantScope, language: str, prompt_key: str) -> tuple[MediaFile, bytes]:
        found = (await self.prompt_set(scope, language)).get(prompt_key)
        if found is None:
            raise NotFound.of("prompt", f"{language}/{prompt_key}")
        row = found[1]
        return row, self.read_blob(row.blob_sha256, f"prompt {language}/{prompt_key}")
