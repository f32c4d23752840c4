"""Conference room rules: a number in the tenant's one number space, two different PINs kept encrypted (readable
by whoever may read the room), waiting for a moderator only when there is a moderator PIN, a MOH class of the
tenant."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, or_

from centrex.db.models.conference import Conference
from centrex.db.models.media import MohClass
from centrex.domain.errors import InvalidInput
from centrex.domain.tenancy import TenantScope
from centrex.resources import dialplan
from centrex.resources.common import TenantRepository, apply_changes, check_etag
from centrex.resources.conferences.schemas import (
    NOT_NULL,
    ConferenceCreate,
    ConferenceFilters,
    ConferenceOut,
    ConferenceUpdate,
)
from centrex.resources.extension_groups.members import check_exists
from centrex.resources.service import ResourceService
from centrex.security.secrets import default_box

_PLAIN = (
    "id",
    "tenant_id",
    "name",
    "number",
    "max_members",
    "record",
    "wait_for_moderator",
    "announce_join_leave",
    "mute_on_join",
    "moh_class_id",
    "language",
    "created_at",
    "updated_at",
)


class ConferenceRepository(TenantRepository[Conference]):
    model = Conference
    sortable = {"name": Conference.name, "number": Conference.number}
    default_sort = "number"


def _check_pins(participant: str | None, moderator: str | None, wait_for_moderator: bool) -> None:
    if participant is not None and participant == moderator:
        raise InvalidInput.field("moderator_pin", "must differ from participant_pin")
    if wait_for_moderator and moderator is None:
        raise InvalidInput.field("wait_for_moderator", "needs a moderator_pin (otherwise nobody could start the room)")


def _seal(pin: str | None) -> str | None:
    return default_box().encrypt(pin) if pin is not None else None


def _open(sealed: str | None) -> str | None:
    return default_box().decrypt(sealed) if sealed else None


class ConferenceService(ResourceService[Conference]):
    repository = ConferenceRepository
    out_model = ConferenceOut

    def present(self, obj: Conference) -> BaseModel:
        return ConferenceOut(
            **{name: getattr(obj, name) for name in _PLAIN},
            participant_pin=_open(obj.participant_pin_enc),
            moderator_pin=_open(obj.moderator_pin_enc),
        )

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        assert isinstance(filters, ConferenceFilters)
        conds: list[ColumnElement[bool]] = []
        if filters.number:
            conds.append(Conference.number == filters.number)
        if filters.q:
            like = f"%{filters.q.lower()}%"
            conds.append(or_(Conference.number.like(like), func.lower(Conference.name).like(like)))
        return conds

    async def create(self, scope: TenantScope, data: ConferenceCreate) -> Conference:
        _check_pins(data.participant_pin, data.moderator_pin, data.wait_for_moderator)
        await dialplan.ensure_free(self.session, scope, data.number)
        await check_exists(self.session, scope, MohClass, data.moh_class_id, "moh_class_id")
        room = Conference(
            tenant_id=scope.tenant_id,
            **data.model_dump(exclude={"participant_pin", "moderator_pin"}),
            participant_pin_enc=_seal(data.participant_pin),
            moderator_pin_enc=_seal(data.moderator_pin),
        )
        self.repo.add(room)
        await self.session.flush()
        return room

    async def update(self, scope: TenantScope, obj_id: str, data: ConferenceUpdate, if_match: str | None) -> Conference:
        room = await self.get(scope, obj_id)
        check_etag(room, if_match)
        given = data.model_fields_set
        for name in NOT_NULL:
            if name in given and getattr(data, name) is None:
                raise InvalidInput.field(name, "cannot be null")
        participant = data.participant_pin if "participant_pin" in given else _open(room.participant_pin_enc)
        moderator = data.moderator_pin if "moderator_pin" in given else _open(room.moderator_pin_enc)
        wait = data.wait_for_moderator if data.wait_for_moderator is not None else room.wait_for_moderator
        _check_pins(participant, moderator, wait)
        changes: dict[str, Any] = {}
        if "number" in given and data.number != room.number:
            assert data.number is not None
            await dialplan.ensure_free(self.session, scope, data.number, room.id)
            changes["number"] = data.number
        if "moh_class_id" in given:
            await check_exists(self.session, scope, MohClass, data.moh_class_id, "moh_class_id")
            changes["moh_class_id"] = data.moh_class_id
        # A PIN is re-encrypted only when it changes (each encryption differs, which would be a spurious change).
        if "participant_pin" in given and participant != _open(room.participant_pin_enc):
            changes["participant_pin_enc"] = _seal(participant)
        if "moderator_pin" in given and moderator != _open(room.moderator_pin_enc):
            changes["moderator_pin_enc"] = _seal(moderator)
        simple = given & {
            "name",
            "max_members",
            "record",
            "wait_for_moderator",
            "announce_join_leave",
            "mute_on_join",
            "language",
        }
        changes.update(data.model_dump(include=simple))
        apply_changes(room, changes)
        await self.session.flush()
        return room
