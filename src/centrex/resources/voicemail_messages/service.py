"""Voicemail message rules: messages belong to a mailbox of the tenant; end users reach only the mailbox of their
own extension; audio is checked and converted like media (at most the box's ``max_message_seconds``), a full box
(``max_messages``) refuses new messages with 409; marking heard moves inbox ↔ old; deleting removes the blob when
nothing else uses it. ``store_message`` is also how the call engine leaves a message."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, select

from centrex.api.pagination import PageParams, PageResult
from centrex.db.models.voicemail import VoicemailBox, VoicemailMessage
from centrex.domain.errors import InvalidInput, LimitExceeded, NotFound
from centrex.domain.tenancy import TenantScope
from centrex.media import audiofile
from centrex.resources.common import TenantRepository, apply_changes, check_etag
from centrex.resources.media import blobs
from centrex.resources.service import ResourceService
from centrex.resources.voicemail_messages.schemas import MessageFilters, MessageMeta, MessageOut, MessageUpdate
from centrex.storage.blobs import BlobStore


class VoicemailMessageRepository(TenantRepository[VoicemailMessage]):
    model = VoicemailMessage
    sortable = {"received_at": VoicemailMessage.received_at, "duration_ms": VoicemailMessage.duration_ms}
    default_sort = "-received_at"


def _text(value: str | None, field: str, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > limit or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInput.field(field, f"at most {limit} printable characters")
    return value or None


class VoicemailMessageService(ResourceService[VoicemailMessage]):
    repository = VoicemailMessageRepository
    out_model = MessageOut

    @property
    def blobs(self) -> BlobStore:
        return BlobStore(self.state.settings.blob_dir)

    def visible(self, scope: TenantScope) -> list[ColumnElement[bool]]:
        own = scope.own_extension_only
        if own is None:
            return []
        boxes = select(VoicemailBox.id).where(
            VoicemailBox.tenant_id == scope.tenant_id, VoicemailBox.owner_extension_id == own
        )
        return [VoicemailMessage.box_id.in_(boxes)]

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        assert isinstance(filters, MessageFilters)
        conds: list[ColumnElement[bool]] = []
        if filters.folder:
            conds.append(VoicemailMessage.folder == filters.folder)
        if filters.heard is not None:
            conds.append(VoicemailMessage.heard == filters.heard)
        return conds

    async def box(self, scope: TenantScope, box_id: str) -> VoicemailBox:
        """The mailbox, if this principal may reach it (end users: only their own extension's)."""
        box = (
            await self.session.execute(
                select(VoicemailBox).where(VoicemailBox.tenant_id == scope.tenant_id, VoicemailBox.id == box_id)
            )
        ).scalar_one_or_none()
        own = scope.own_extension_only
        if box is None or (own is not None and box.owner_extension_id != own):
            raise NotFound.of("voicemail_box", box_id)
        return box

    async def list_in_box(
        self, scope: TenantScope, box_id: str, filters: MessageFilters, page: PageParams
    ) -> PageResult[VoicemailMessage]:
        await self.box(scope, box_id)
        return await self.repo.page(
            scope, page, VoicemailMessage.box_id == box_id, *self.visible(scope), *self.where(scope, filters)
        )

    async def get_in_box(self, scope: TenantScope, box_id: str, message_id: str) -> VoicemailMessage:
        await self.box(scope, box_id)
        msg = await self.repo.find(
            scope, VoicemailMessage.id == message_id, VoicemailMessage.box_id == box_id, *self.visible(scope)
        )
        if msg is None:
            raise NotFound.of("voicemail_message", message_id)
        return msg

    async def update_in_box(
        self, scope: TenantScope, box_id: str, message_id: str, data: MessageUpdate, if_match: str | None
    ) -> VoicemailMessage:
        msg = await self.get_in_box(scope, box_id, message_id)
        check_etag(msg, if_match)
        given = data.model_fields_set
        changes: dict[str, Any] = data.model_dump(include=given)
        if "heard" in given and "folder" not in given:
            if data.heard and msg.folder == "inbox":
                changes["folder"] = "old"
            elif not data.heard and msg.folder == "old":
                changes["folder"] = "inbox"
        apply_changes(msg, changes)
        await self.session.flush()
        return msg

    async def delete_in_box(self, scope: TenantScope, box_id: str, message_id: str, if_match: str | None) -> None:
        msg = await self.get_in_box(scope, box_id, message_id)
        check_etag(msg, if_match)
        digest = msg.blob_sha256
        await self.repo.delete(msg)
        await blobs.release(self.session, self.blobs, {digest})

    async def delete_all(self, scope: TenantScope, box_id: str) -> int:
        """Delete every message of a mailbox (each audited) and release their blobs; for the mailbox's own delete."""
        rows = (
            await self.session.execute(
                select(VoicemailMessage).where(
                    VoicemailMessage.tenant_id == scope.tenant_id, VoicemailMessage.box_id == box_id
                )
            )
        ).scalars()
        digests = set()
        count = 0
        for msg in rows:
            digests.add(msg.blob_sha256)
            await self.session.delete(msg)
            count += 1
        await self.session.flush()
        await blobs.release(self.session, self.blobs, digests)
        return count

    async def audio(self, scope: TenantScope, box_id: str, message_id: str) -> tuple[VoicemailMessage, bytes]:
        msg = await self.get_in_box(scope, box_id, message_id)
        try:
            return msg, self.blobs.get(msg.blob_sha256)
        except (FileNotFoundError, ValueError):
            raise NotFound(f"the audio of voicemail message {msg.id} is missing from the blob store") from None

    async def upload(
        self, scope: TenantScope, box_id: str, meta: MessageMeta, data: bytes, filename: str | None
    ) -> VoicemailMessage:
        audiofile.safe_filename(filename)  # refuses traversal and control characters; the name is not kept
        return await self.store_message(
            scope, box_id, data, meta.caller_number, meta.caller_name, meta.received_at, meta.call_id
        )

    async def store_message(
        self,
        scope: TenantScope,
        box_id: str,
        wav_bytes: bytes,
        caller_number: str | None,
        caller_name: str | None,
        received_at: datetime | None,
        call_id: str | None = None,
    ) -> VoicemailMessage:
        """Leave a message in a mailbox: check the box's limits, convert the audio, store row and blob."""
        box = await self.box(scope, box_id)
        caller_number = _text(caller_number, "caller_number", 64)
        caller_name = _text(caller_name, "caller_name", 100)
        call_id = _text(call_id, "call_id", 100)
        await self.tenant(scope, lock=True)  # PostgreSQL: concurrent messages for one tenant queue here
        count = await self.repo.count(scope, VoicemailMessage.box_id == box.id)
        if count >= box.max_messages:
            raise LimitExceeded(
                f"mailbox {box.number} is full ({box.max_messages} messages)", limit="max_messages", box_id=box.id
            )
        audio = await asyncio.to_thread(
            audiofile.convert,
            wav_bytes,
            max_seconds=box.max_message_seconds,
            max_bytes=self.state.settings.max_upload_bytes,
        )
        when = received_at or datetime.now(UTC)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        msg = VoicemailMessage(
            tenant_id=scope.tenant_id,
            box_id=box.id,
            folder="inbox",
            heard=False,
            caller_number=caller_number,
            caller_name=caller_name,
            duration_ms=audio.duration_ms,
            received_at=when,
            blob_sha256=blobs.digest_of(audio.wav),
            size_bytes=audio.size,
            call_id=call_id,
        )
        self.repo.add(msg)
        await self.session.flush()
        blobs.store(self.session, self.blobs, audio.wav)
        self.uow.emit(
            "voicemail.left",
            resource_type=msg.__resource__,
            resource_id=msg.id,
            data={
                "id": msg.id,
                "box_id": box.id,
                "box_number": box.number,
                "caller_number": caller_number,
                "caller_name": caller_name,
                "duration_ms": msg.duration_ms,
                "received_at": when.isoformat(),
            },
            tenant_id=scope.tenant_id,
            tenant_path=scope.tenant_path,
        )
        return msg
