"""IVR rules: unique names, dialable numbers in the tenant's number space, a greeting (media or text-to-speech),
every destination and prompt in the same tenant, and no static loop through the timeout/invalid exits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, or_

from centrex.callflow.loader import ensure_no_static_loop
from centrex.db.models.ivr import Ivr
from centrex.domain.errors import Duplicate, InvalidInput
from centrex.domain.tenancy import TenantScope
from centrex.resources import destinations, dialplan
from centrex.resources.common import TenantRepository, apply_changes, check_etag
from centrex.resources.ivrs.schemas import IvrCreate, IvrFilters, IvrOut, IvrUpdate, OptionKey
from centrex.resources.ivrs.targets import DestinationList, check_media, describe
from centrex.resources.service import ResourceService

KEY_ORDER: tuple[str, ...] = get_args(OptionKey)
EXITS = ("timeout_destination", "invalid_destination")


class IvrRepository(TenantRepository[Ivr]):
    model = Ivr
    sortable = {"name": Ivr.name, "number": Ivr.number}
    default_sort = "name"


class IvrService(ResourceService[Ivr]):
    repository = IvrRepository
    out_model = IvrOut

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        assert isinstance(filters, IvrFilters)
        conds: list[ColumnElement[bool]] = []
        if filters.name:
            conds.append(Ivr.name == filters.name)
        if filters.number:
            conds.append(Ivr.number == filters.number)
        if filters.q:
            like = f"%{filters.q.lower()}%"
            conds.append(or_(func.lower(Ivr.name).like(like), Ivr.number.like(like)))
        return conds

    async def _check_name(self, scope: TenantScope, name: str, current: Ivr | None) -> None:
        other = await self.repo.find(scope, func.lower(Ivr.name) == name.lower())
        if other is not None and other is not current:
            raise Duplicate(f"an IVR named {name!r} already exists in this tenant", field="name", owner=other.id)

    async def _options(self, scope: TenantScope, options: Mapping[OptionKey, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in sorted(options, key=_order):
            out[key] = await destinations.check(self.session, scope, options[key], f"options.{key}")
        return out

    async def create(self, scope: TenantScope, data: IvrCreate) -> Ivr:
        _need_greeting(data.greeting_media_id, data.greeting_text)
        await self._check_name(scope, data.name, None)
        if data.number is not None:
            await dialplan.ensure_free(self.session, scope, data.number)
        await check_media(self.session, scope, data.greeting_media_id, "greeting_media_id")
        await check_media(self.session, scope, data.invalid_media_id, "invalid_media_id")
        ivr = Ivr(
            tenant_id=scope.tenant_id,
            **data.model_dump(exclude={"options", *EXITS}),
            options=await self._options(scope, data.options),
        )
        for name in EXITS:
            setattr(ivr, name, await destinations.check(self.session, scope, getattr(data, name), name))
        self.repo.add(ivr)
        await self.session.flush()
        await ensure_no_static_loop(self.session, scope)
        return ivr

    async def update(self, scope: TenantScope, obj_id: str, data: IvrUpdate, if_match: str | None) -> Ivr:
        ivr = await self.get(scope, obj_id)
        check_etag(ivr, if_match)
        given = data.model_fields_set
        changes: dict[str, Any] = {}
        if "name" in given and data.name != ivr.name:
            assert data.name is not None
            await self._check_name(scope, data.name, ivr)
        if "number" in given and data.number is not None and data.number != ivr.number:
            await dialplan.ensure_free(self.session, scope, data.number, ivr.id)
        for name in ("greeting_media_id", "invalid_media_id"):
            if name in given:
                await check_media(self.session, scope, getattr(data, name), name)
        if "options" in given and data.options is not None:
            changes["options"] = await self._options(scope, data.options)
        for name in EXITS:
            if name in given:
                changes[name] = await destinations.check(self.session, scope, getattr(data, name), name)
        simple = given - {"options", *EXITS}
        changes.update(data.model_dump(include=simple, mode="json"))
        _need_greeting(
            changes.get("greeting_media_id", ivr.greeting_media_id), changes.get("greeting_text", ivr.greeting_text)
        )
        apply_changes(ivr, changes)
        await self.session.flush()
        await ensure_no_static_loop(self.session, scope)
        return ivr

    async def destinations(self, scope: TenantScope, obj_id: str) -> DestinationList:
        """Every exit of the menu (options in key order, then timeout and invalid) with its targets' names."""
        ivr = await self.get(scope, obj_id)
        entries: list[tuple[str, str | None, dict[str, Any] | None]] = [
            (f"options.{key}", key, dest) for key, dest in sorted(ivr.options.items(), key=lambda kv: _order(kv[0]))
        ]
        entries += [(name, None, getattr(ivr, name)) for name in EXITS]
        items = await describe(self.session, scope, entries)
        return DestinationList(id=ivr.id, name=ivr.name, number=ivr.number, items=items)


def _order(key: str) -> int:
    return KEY_ORDER.index(key) if key in KEY_ORDER else len(KEY_ORDER)


def _need_greeting(media_id: str | None, text: str | None) -> None:
    if media_id is None and text is None:
        raise InvalidInput.field(
            "greeting_text", "an IVR needs greeting_media_id or greeting_text (or both)", "missing"
        )
