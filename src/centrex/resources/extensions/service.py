"""Extension rules: numbering within the tenant's length and quota, credentials, forwarding references, and what
an end user may change on their own extension."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from centrex.callflow.loader import ensure_no_static_loop
from centrex.db.models.extension import Extension
from centrex.db.models.voicemail import VoicemailBox
from centrex.domain.errors import Duplicate, InvalidInput, LimitExceeded, PermissionDenied
from centrex.domain.tenancy import TenantScope
from centrex.resources import destinations, dialplan
from centrex.resources.common import apply_changes, check_etag
from centrex.resources.extensions.repository import ExtensionRepository
from centrex.resources.extensions.schemas import (
    USER_EDITABLE,
    ExtensionCreate,
    ExtensionCreated,
    ExtensionFilters,
    ExtensionOut,
    ExtensionUpdate,
    ForwardRule,
    SipCredentials,
)
from centrex.resources.service import ResourceService
from centrex.security.passwords import hash_password
from centrex.security.secrets import default_box, generate_password


async def ensure_personal_boxes(session: AsyncSession, tenant_id: str) -> int:
    """Give every voicemail-enabled extension of a tenant that has no personal box one (after a template copy that
    copied extensions but not voicemail boxes). A box number already taken by a shared box is left alone. Returns
    how many boxes were made."""
    has_box = select(VoicemailBox.owner_extension_id).where(
        VoicemailBox.tenant_id == tenant_id, VoicemailBox.owner_extension_id.is_not(None)
    )
    taken = set(await session.scalars(select(VoicemailBox.number).where(VoicemailBox.tenant_id == tenant_id)))
    exts = await session.scalars(
        select(Extension).where(
            Extension.tenant_id == tenant_id,
            Extension.voicemail_enabled.is_(True),
            Extension.id.not_in(has_box),
        )
    )
    made = 0
    for ext in exts:
        if ext.number in taken:
            continue
        session.add(VoicemailBox(tenant_id=tenant_id, number=ext.number, name=ext.name, owner_extension_id=ext.id))
        taken.add(ext.number)
        made += 1
    await session.flush()
    return made


class ExtensionService(ResourceService[Extension]):
    repository = ExtensionRepository
    out_model = ExtensionOut
    created_model = ExtensionCreated

    def visible(self, scope: TenantScope) -> list[ColumnElement[bool]]:
        own = scope.own_extension_only
        return [Extension.id == own] if own is not None else []

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        assert isinstance(filters, ExtensionFilters)
        conds: list[ColumnElement[bool]] = []
        if filters.number:
            conds.append(Extension.number == filters.number)
        if filters.q:
            like = f"%{filters.q.lower()}%"
            conds.append(or_(Extension.number.like(like), func.lower(Extension.name).like(like)))
        if filters.enabled is not None:
            conds.append(Extension.enabled == filters.enabled)
        if filters.dnd is not None:
            conds.append(Extension.dnd == filters.dnd)
        return conds

    async def _check_number(self, scope: TenantScope, number: str, length: int, current: Extension | None) -> None:
        if len(number) != length:
            raise InvalidInput.field("number", f"must have {length} digits (the tenant's extension length)")
        await dialplan.ensure_free(self.session, scope, number, current.id if current else None)

    async def _check_sip_username(self, scope: TenantScope, username: str, current: Extension | None) -> None:
        existing = await self.repo.find(scope, Extension.sip_username == username)
        if existing is not None and existing is not current:
            raise Duplicate(f"SIP username {username!r} is taken in this tenant", field="sip_username")

    async def _forwarding(
        self, scope: TenantScope, rules: list[ForwardRule], self_id: str | None
    ) -> list[dict[str, Any]]:
        out = []
        for i, rule in enumerate(rules):
            field = f"forwarding.{i}.destination"
            if rule.destination.type == "extension" and rule.destination.id == self_id:
                raise InvalidInput.field(f"{field}.id", "cannot forward to itself")
            dest = await destinations.check(self.session, scope, rule.destination, field, own_voicemail=True)
            out.append({**rule.model_dump(mode="json", exclude={"destination"}), "destination": dest})
        return out

    async def create(self, scope: TenantScope, data: ExtensionCreate) -> Extension:
        tenant = await self.tenant(scope, lock=True)
        if tenant.max_extensions is not None:
            count = await self.repo.count(scope)
            if count >= tenant.max_extensions:
                raise LimitExceeded(
                    f"the tenant's limit of {tenant.max_extensions} extensions is reached",
                    limit="max_extensions",
                )
        await self._check_number(scope, data.number, tenant.extension_length, None)
        sip_username = data.sip_username or data.number
        await self._check_sip_username(scope, sip_username, None)
        password = data.sip_password or generate_password()
        fields = data.model_dump(
            exclude={"sip_password", "voicemail_pin", "forwarding", "emergency_location", "sip_username"}
        )
        ext = Extension(
            tenant_id=scope.tenant_id,
            **fields,
            sip_username=sip_username,
            sip_password_enc=default_box().encrypt(password),
            voicemail_pin_hash=hash_password(data.voicemail_pin) if data.voicemail_pin else None,
            emergency_location=data.emergency_location.model_dump() if data.emergency_location else None,
        )
        ext.forwarding = await self._forwarding(scope, data.forwarding, ext.id)
        self.repo.add(ext)
        await self.session.flush()
        await self._sync_personal_box(scope, ext, None)
        self.once[ext.id] = {"sip_password": password}
        return ext

    async def update(self, scope: TenantScope, obj_id: str, data: ExtensionUpdate, if_match: str | None) -> Extension:
        ext = await self.get(scope, obj_id)
        check_etag(ext, if_match)
        given = data.model_fields_set
        if scope.own_extension_only is not None:
            forbidden = sorted(given - USER_EDITABLE)
            if forbidden:
                raise PermissionDenied(f"Only an administrator may change: {', '.join(forbidden)}")
        changes: dict[str, Any] = {}
        if "number" in given and data.number != ext.number:
            tenant = await self.tenant(scope)
            assert data.number is not None
            await self._check_number(scope, data.number, tenant.extension_length, ext)
            changes["number"] = data.number
        if "sip_username" in given and data.sip_username != ext.sip_username:
            assert data.sip_username is not None
            await self._check_sip_username(scope, data.sip_username, ext)
            changes["sip_username"] = data.sip_username
        if "sip_password" in given and data.sip_password:
            changes["sip_password_enc"] = default_box().encrypt(data.sip_password)
        if "voicemail_pin" in given:
            changes["voicemail_pin_hash"] = hash_password(data.voicemail_pin) if data.voicemail_pin else None
        if "forwarding" in given and data.forwarding is not None:
            changes["forwarding"] = await self._forwarding(scope, data.forwarding, ext.id)
        if "emergency_location" in given:
            changes["emergency_location"] = data.emergency_location.model_dump() if data.emergency_location else None
        simple = given - {
            "number",
            "sip_username",
            "sip_password",
            "voicemail_pin",
            "forwarding",
            "emergency_location",
        }
        dumped = data.model_dump(include=simple, mode="json")
        changes.update(dumped)
        old_number = ext.number
        apply_changes(ext, changes)
        await self.session.flush()
        await self._sync_personal_box(scope, ext, old_number)
        if "forwarding" in changes:
            # Unconditional forwarding is an edge without caller action: refuse a change that closes a cycle.
            await ensure_no_static_loop(self.session, scope)
        return ext

    async def _sync_personal_box(self, scope: TenantScope, ext: Extension, old_number: str | None) -> None:
        """Every extension with voicemail has a personal box (number = the extension's number, PIN = the
        extension's voicemail PIN unless the box sets its own). Disabling voicemail keeps the box and its messages."""
        box = (
            await self.session.execute(select(VoicemailBox).where(VoicemailBox.owner_extension_id == ext.id))
        ).scalar_one_or_none()
        if box is None:
            if not ext.voicemail_enabled:
                return
            taken = await self.session.scalar(
                select(VoicemailBox.id).where(
                    VoicemailBox.tenant_id == scope.tenant_id, VoicemailBox.number == ext.number
                )
            )
            if taken is not None:
                raise Duplicate(f"mailbox {ext.number} is already used by voicemail box {taken}", field="number")
            self.session.add(
                VoicemailBox(tenant_id=scope.tenant_id, number=ext.number, name=ext.name, owner_extension_id=ext.id)
            )
        elif old_number is not None and old_number != ext.number and box.number == old_number:
            box.number = ext.number
        await self.session.flush()

    async def before_delete(self, scope: TenantScope, obj: Extension) -> None:
        # The personal box goes first, through the ORM, so that its references are cleaned up (and a box that a
        # menu or route still points at stops the delete with a 409 naming them).
        box = (
            await self.session.execute(select(VoicemailBox).where(VoicemailBox.owner_extension_id == obj.id))
        ).scalar_one_or_none()
        if box is not None:
            await self.session.delete(box)
            await self.session.flush()

    async def credentials(self, scope: TenantScope, obj_id: str) -> SipCredentials:
        ext = await self.get(scope, obj_id)
        tenant = await self.tenant(scope)
        return SipCredentials(
            username=ext.sip_username,
            password=default_box().decrypt(ext.sip_password_enc),
            domain=tenant.sip_domain,
            extension_id=ext.id,
        )

    async def rotate_credentials(self, scope: TenantScope, obj_id: str) -> SipCredentials:
        ext = await self.get(scope, obj_id)
        password = generate_password()
        ext.sip_password_enc = default_box().encrypt(password)
        self.uow.mark(ext, "rotate_sip_password")
        await self.session.flush()
        tenant = await self.tenant(scope)
        return SipCredentials(
            username=ext.sip_username, password=password, domain=tenant.sip_domain, extension_id=ext.id
        )
