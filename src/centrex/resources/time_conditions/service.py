"""Time-condition rules: unique names and flow numbers, schedules valid for ``centrex.domain.schedule``, office-mode
overrides that end in the future, destinations in the same tenant and no static loop; the state at an instant and
the mode change (audited as ``set_mode``, announced as ``time_condition.mode_changed``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func

from centrex.callflow.loader import ensure_no_static_loop
from centrex.db.models.time_condition import TimeCondition
from centrex.domain import schedule
from centrex.domain.errors import Duplicate, InvalidInput
from centrex.domain.tenancy import TenantScope
from centrex.resources import destinations
from centrex.resources.common import TenantRepository, apply_changes, check_etag
from centrex.resources.ivrs.targets import DestinationList, describe
from centrex.resources.service import ResourceService
from centrex.resources.time_conditions.schemas import (
    ModeChange,
    TimeConditionCreate,
    TimeConditionFilters,
    TimeConditionOut,
    TimeConditionState,
    TimeConditionUpdate,
)

DESTINATIONS = ("open_destination", "closed_destination", "holiday_destination")


class TimeConditionRepository(TenantRepository[TimeCondition]):
    model = TimeCondition
    sortable = {"name": TimeCondition.name, "flow_number": TimeCondition.flow_number}
    default_sort = "name"


def _now() -> datetime:
    return datetime.now(UTC)


def _check_override(mode: str, until: datetime | None, field: str) -> None:
    if until is None:
        return
    if mode == "auto":
        raise InvalidInput.field(field, "an end time needs a mode other than auto")
    if until <= _now():
        raise InvalidInput.field(field, "must be in the future")


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def override_active(tc: TimeCondition, at: datetime) -> bool:
    """Does a manual mode force the state at ``at``?"""
    return tc.mode != "auto" and (tc.mode_until is None or at < tc.mode_until)


class TimeConditionService(ResourceService[TimeCondition]):
    repository = TimeConditionRepository
    out_model = TimeConditionOut

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        assert isinstance(filters, TimeConditionFilters)
        conds: list[ColumnElement[bool]] = []
        if filters.name:
            conds.append(TimeCondition.name == filters.name)
        if filters.q:
            conds.append(func.lower(TimeCondition.name).like(f"%{filters.q.lower()}%"))
        if filters.mode:
            conds.append(TimeCondition.mode == filters.mode)
        if filters.flow_number:
            conds.append(TimeCondition.flow_number == filters.flow_number)
        return conds

    async def _check_unique(self, scope: TenantScope, field: str, value: str, current: TimeCondition | None) -> None:
        column = TimeCondition.name if field == "name" else TimeCondition.flow_number
        other = await self.repo.find(scope, column == value)
        if other is not None and other is not current:
            label = "name" if field == "name" else "flow number"
            raise Duplicate(f"the {label} {value!r} is taken by time condition {other.id}", field=field, owner=other.id)

    async def create(self, scope: TenantScope, data: TimeConditionCreate) -> TimeCondition:
        await self._check_unique(scope, "name", data.name, None)
        if data.flow_number is not None:
            await self._check_unique(scope, "flow_number", data.flow_number, None)
        _check_override(data.mode, data.mode_until, "mode_until")
        fields = data.model_dump(mode="json", include={"name", "timezone", "weekly", "holidays", "mode", "flow_number"})
        tc = TimeCondition(tenant_id=scope.tenant_id, **fields, mode_until=_utc(data.mode_until))
        for name in DESTINATIONS:
            setattr(tc, name, await destinations.check(self.session, scope, getattr(data, name), name))
        self.repo.add(tc)
        await self.session.flush()
        await ensure_no_static_loop(self.session, scope)
        return tc

    async def update(
        self, scope: TenantScope, obj_id: str, data: TimeConditionUpdate, if_match: str | None
    ) -> TimeCondition:
        tc = await self.get(scope, obj_id)
        check_etag(tc, if_match)
        given = data.model_fields_set
        changes: dict[str, Any] = {}
        if "name" in given and data.name != tc.name:
            assert data.name is not None
            await self._check_unique(scope, "name", data.name, tc)
        if "flow_number" in given and data.flow_number is not None:
            await self._check_unique(scope, "flow_number", data.flow_number, tc)
        if "mode" in given:
            assert data.mode is not None
            # A new mode replaces the old override entirely: without mode_until it holds until changed.
            changes["mode"] = data.mode
            changes["mode_until"] = _utc(data.mode_until) if "mode_until" in given else None
            _check_override(data.mode, changes["mode_until"], "mode_until")
        elif "mode_until" in given:
            changes["mode_until"] = _utc(data.mode_until)
            _check_override(tc.mode, data.mode_until, "mode_until")
        for name in DESTINATIONS:
            if name in given:
                changes[name] = await destinations.check(self.session, scope, getattr(data, name), name)
        simple = given & {"name", "timezone", "weekly", "holidays", "flow_number"}
        changes.update(data.model_dump(mode="json", include=simple))
        previous = _mode_of(tc)
        apply_changes(tc, changes)
        await self.session.flush()
        await ensure_no_static_loop(self.session, scope)
        self._mode_changed(scope, tc, previous)
        return tc

    async def set_mode(self, scope: TenantScope, obj_id: str, data: ModeChange, if_match: str | None) -> TimeCondition:
        """Office mode: force open/closed/holiday (optionally until a time) or return to the schedule."""
        tc = await self.get(scope, obj_id)
        check_etag(tc, if_match)
        _check_override(data.mode, data.until, "until")
        previous = _mode_of(tc)
        if not apply_changes(tc, {"mode": data.mode, "mode_until": _utc(data.until)}):
            return tc
        self.uow.mark(tc, "set_mode")
        await self.session.flush()
        self._mode_changed(scope, tc, previous)
        return tc

    def _mode_changed(self, scope: TenantScope, tc: TimeCondition, previous: dict[str, Any]) -> None:
        """The semantic event of an office-mode change (besides the generic ``time_condition.updated``)."""
        if _mode_of(tc) == previous:
            return
        self.uow.emit(
            "time_condition.mode_changed",
            resource_type="time_condition",
            resource_id=tc.id,
            data={"id": tc.id, "name": tc.name, "flow_number": tc.flow_number, **_mode_of(tc), "previous": previous},
            tenant_id=scope.tenant_id,
            tenant_path=scope.tenant_path,
        )

    async def state_at(self, scope: TenantScope, obj_id: str, at: datetime | None) -> TimeConditionState:
        tc = await self.get(scope, obj_id)
        when = (at or _now()).astimezone(UTC)
        zone = tc.timezone or (await self.tenant(scope)).timezone or "UTC"
        evaluation = schedule.evaluate(
            when, timezone=zone, weekly=tc.weekly, holidays=tc.holidays, mode=tc.mode, mode_until=tc.mode_until
        )
        forced = override_active(tc, when)
        change: datetime | None
        if not forced:
            change = schedule.next_change(when, timezone=zone, weekly=tc.weekly, holidays=tc.holidays)
        elif tc.mode_until is None:
            change = None  # held until someone changes the mode
        elif _auto_state(tc, zone, tc.mode_until) != evaluation.state:
            change = tc.mode_until  # the override ends into a different scheduled state
        else:
            change = schedule.next_change(tc.mode_until, timezone=zone, weekly=tc.weekly, holidays=tc.holidays)
        dest = getattr(tc, f"{evaluation.state}_destination")
        if evaluation.state == "holiday" and dest is None:
            dest = tc.closed_destination
        return TimeConditionState(
            id=tc.id,
            at=when,
            state=evaluation.state,
            reason=evaluation.reason,
            timezone=zone,
            local_time=evaluation.local_time,
            override=forced,
            next_change=change.astimezone(UTC) if change is not None else None,
            destination=dest or {"type": "hangup"},
        )

    async def destinations(self, scope: TenantScope, obj_id: str) -> DestinationList:
        """The open, closed and holiday destinations with their targets' names (holiday: closed when unset)."""
        tc = await self.get(scope, obj_id)
        entries: list[tuple[str, str | None, dict[str, Any] | None]] = [
            ("open_destination", "open", tc.open_destination),
            ("closed_destination", "closed", tc.closed_destination),
            ("holiday_destination", "holiday", tc.holiday_destination or tc.closed_destination),
        ]
        items = await describe(self.session, scope, entries)
        if tc.holiday_destination is None:
            items[2] = items[2].model_copy(update={"is_default": True})
        return DestinationList(id=tc.id, name=tc.name, items=items)


def _mode_of(tc: TimeCondition) -> dict[str, Any]:
    return {"mode": tc.mode, "until": tc.mode_until.isoformat() if tc.mode_until else None}


def _auto_state(tc: TimeCondition, zone: str, at: datetime) -> str:
    return schedule.evaluate(at, timezone=zone, weekly=tc.weekly, holidays=tc.holidays).state
