"""Voicemail-box rules: mailbox numbers unique in the tenant (outside the dial plan), at most one box per extension,
greetings that are the tenant's media, PINs stored as Argon2 hashes, and end users limited to their own box."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, or_

from centrex.db.models.extension import Extension
from centrex.db.models.voicemail import VoicemailBox
from centrex.domain.errors import Duplicate, InvalidInput
from centrex.domain.tenancy import TenantScope
from centrex.resources.common import TenantRepository, apply_changes, check_etag
from centrex.resources.extensions.repository import ExtensionRepository
from centrex.resources.ivrs.targets import check_media
from centrex.resources.service import ResourceService
from centrex.resources.voicemail_boxes.schemas import (
    GreetingKind,
    PinChange,
    VoicemailBoxCreate,
    VoicemailBoxFilters,
    VoicemailBoxOut,
    VoicemailBoxUpdate,
)
from centrex.security.passwords import hash_password

SPECIAL = set({"number", "name", "owner_extension_id", "pin", "greetings"})


class VoicemailBoxRepository(TenantRepository[VoicemailBox]):
    model = VoicemailBox
    sortable = {"number": VoicemailBox.number, "name": VoicemailBox.name}
    default_sort = "number"


class VoicemailBoxService(ResourceService[VoicemailBox]):
    repository = VoicemailBoxRepository
    out_model = VoicemailBoxOut

    def visible(self, scope: TenantScope) -> list[ColumnElement[bool]]:
        own = scope.own_extension_only
        return [VoicemailBox.owner_extension_id == own] if own is not None else []

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        assert isinstance(filters, VoicemailBoxFilters)
        conds: list[ColumnElement[bool]] = []
        if filters.number:
            conds.append(VoicemailBox.number == filters.number)
        if filters.owner_extension_id:
            conds.append(VoicemailBox.owner_extension_id == filters.owner_extension_id)
        if filters.q:
            like = f"%{filters.q.lower()}%"
            conds.append(or_(VoicemailBox.number.like(like), func.lower(VoicemailBox.name).like(like)))
        return conds

    async def _check_number(self, scope: TenantScope, number: str, current: VoicemailBox | None) -> None:
        other = await self.repo.find(scope, VoicemailBox.number == number)
        if other is not None and other is not current:
            raise Duplicate(f"mailbox {number} already exists in this tenant", field="number", owner=other.id)

    async def _check_owner(self, scope: TenantScope, extension_id: str, current: VoicemailBox | None) -> Extension:
        ext = await ExtensionRepository(self.session).reference(scope, extension_id, "owner_extension_id")
        other = await self.repo.find(scope, VoicemailBox.owner_extension_id == extension_id)
        if other is not None and other is not current:
            raise Duplicate(
                f"extension {ext.number} already has voicemail box {other.number} ({other.id})",
                field="owner_extension_id",
                owner=other.id,
            )
        return ext

    async def _greetings(self, scope: TenantScope, greetings: Mapping[GreetingKind, str]) -> dict[str, str]:
        for kind, media_id in greetings.items():
            await check_media(self.session, scope, media_id, f"greetings.{kind}")
        return {str(kind): media_id for kind, media_id in greetings.items()}

    async def create(self, scope: TenantScope, data: VoicemailBoxCreate) -> VoicemailBox:
        number, name = data.number, data.name
        if data.owner_extension_id is not None:
            ext = await self._check_owner(scope, data.owner_extension_id, None)
            number = number or ext.number
            name = name or ext.name
        if number is None:
            raise InvalidInput.field("number", "required for a box without an owner extension", "missing")
        if name is None:
            raise InvalidInput.field("name", "required for a box without an owner extension", "missing")
        await self._check_number(scope, number, None)
        _check_email(data.email, data.email_delete)
        box = VoicemailBox(
            tenant_id=scope.tenant_id,
            number=number,
            name=name,
            owner_extension_id=data.owner_extension_id,
            pin_hash=hash_password(data.pin) if data.pin else None,
            greetings=await self._greetings(scope, data.greetings),
            **data.model_dump(exclude=SPECIAL),
        )
        self.repo.add(box)
        await self.session.flush()
        return box

    async def update(
        self, scope: TenantScope, obj_id: str, data: VoicemailBoxUpdate, if_match: str | None
    ) -> VoicemailBox:
        box = await self.get(scope, obj_id)
        check_etag(box, if_match)
        given = data.model_fields_set
        changes: dict[str, Any] = {}
        if "number" in given and data.number != box.number:
            assert data.number is not None
            await self._check_number(scope, data.number, box)
            changes["number"] = data.number
        if "name" in given:
            changes["name"] = data.name
        if "owner_extension_id" in given:
            if data.owner_extension_id is not None:
                await self._check_owner(scope, data.owner_extension_id, box)
            changes["owner_extension_id"] = data.owner_extension_id
        if "pin" in given:
            changes["pin_hash"] = hash_password(data.pin) if data.pin else None
        if "greetings" in given and data.greetings is not None:
            changes["greetings"] = await self._greetings(scope, data.greetings)
        changes.update(data.model_dump(include=set(given - SPECIAL), mode="json"))
        _check_email(changes.get("email", box.email), changes.get("email_delete", box.email_delete))
        apply_changes(box, changes)
        await self.session.flush()
        return box

    async def set_pin(self, scope: TenantScope, obj_id: str, data: PinChange, if_match: str | None) -> VoicemailBox:
        """Set or clear the box's own PIN (end users: only on the box of their own extension)."""
        box = await self.get(scope, obj_id)
        check_etag(box, if_match)
        if apply_changes(box, {"pin_hash": hash_password(data.pin) if data.pin else None}):
            self.uow.mark(box, "set_pin")
            await self.session.flush()
        return box


def _check_email(email: str | None, email_delete: bool) -> None:
    if email_delete and not email:
        raise InvalidInput.field("email_delete", "deleting e-mailed messages needs an email address")
