"""``/api/v1/tenants/{tenant_id}/events``: the tenant's events in order (from the outbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import ColumnElement, select

from centrex.api.deps import SessionDep, TenantScopeDep, require
from centrex.api.pagination import Page, PageParams, page_body, page_params, paginate
from centrex.api.route import CentrexRoute
from centrex.db.models.outbox import OutboxEvent

router = APIRouter(tags=["events"], route_class=CentrexRoute)


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    seq: int = Field(description="Position in the event log (strictly increasing).")
    type: str
    tenant_id: str | None
    resource_type: str
    resource_id: str
    data: dict[str, Any]
    occurred_at: datetime
    request_id: str | None


class EventFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")  # shares the query string with limit/offset/sort

    type: Annotated[str, StringConstraints(max_length=80)] | None = Field(
        default=None, description="Exact type, or a prefix ending in `.` (e.g. `extension.`)."
    )
    resource_id: Annotated[str, StringConstraints(max_length=40)] | None = None
    after_seq: int | None = Field(default=None, ge=0, description="Only events after this position.")


@router.get(
    "/tenants/{tenant_id}/events",
    response_model=Page[EventOut],
    dependencies=[Depends(require("events.read"))],
    summary="A tenant's events, oldest first",
)
async def list_events(
    response: Response,
    scope: TenantScopeDep,
    session: SessionDep,
    filters: Annotated[EventFilters, Query()],
    page: Annotated[PageParams, Depends(page_params)],
) -> Any:
    where: list[ColumnElement[bool]] = [OutboxEvent.tenant_id == scope.tenant_id]
    if filters.type:
        where.append(
            OutboxEvent.type.startswith(filters.type, autoescape=True)
            if filters.type.endswith(".")
            else OutboxEvent.type == filters.type
        )
    if filters.resource_id:
        where.append(OutboxEvent.resource_id == filters.resource_id)
    if filters.after_seq is not None:
        where.append(OutboxEvent.seq > filters.after_seq)
    result = await paginate(
        session, select(OutboxEvent).where(*where), OutboxEvent.seq, page, {"id": OutboxEvent.seq}, "id"
    )
    return page_body(response, result, EventOut.model_validate)
