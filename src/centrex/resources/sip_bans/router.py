"""``/api/v1/sip/bans``: addresses refused at the SIP edge — list, ban by hand, lift. Platform administrators only
(``sip_bans.*`` is denied to reseller and tenant administrators: bans are not tenant-scoped)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from centrex.api.deps import PrincipalDep, UowDep, require
from centrex.api.pagination import Page, PageParams, page_body, page_params
from centrex.api.route import CentrexRoute
from centrex.resources.sip_bans.schemas import SipBanCreate, SipBanFilters, SipBanOut
from centrex.resources.sip_bans.service import SipBanService, present

TAG = {
    "name": "sip-bans",
    "description": "Source addresses refused at the SIP edge: automatic bans (flood, password guessing, scanners) "
    "and manual ones. Lifting a ban takes effect at the engine's next ban refresh. Platform administrators only.",
}
router = APIRouter(prefix="/sip/bans", tags=["sip-bans"], route_class=CentrexRoute)
BanId = Annotated[str, Path(min_length=1, max_length=40, description="Ban id.")]


async def _svc(uow: UowDep) -> SipBanService:
    return SipBanService(uow)


Svc = Annotated[SipBanService, Depends(_svc)]


@router.get(
    "",
    response_model=Page[SipBanOut],
    dependencies=[Depends(require("sip_bans.read"))],
    summary="List SIP bans (newest first)",
)
async def list_sip_bans(
    response: Response,
    svc: Svc,
    filters: Annotated[SipBanFilters, Query()],
    page: Annotated[PageParams, Depends(page_params)],
) -> Any:
    return page_body(response, await svc.list(filters, page), present)


@router.post(
    "",
    status_code=201,
    response_model=SipBanOut,
    dependencies=[Depends(require("sip_bans.create"))],
    summary="Ban an address or network by hand",
)
async def create_sip_ban(body: SipBanCreate, svc: Svc, principal: PrincipalDep) -> SipBanOut:
    return present(await svc.create(principal, body))


@router.get(
    "/{ban_id}",
    response_model=SipBanOut,
    dependencies=[Depends(require("sip_bans.read"))],
    summary="One SIP ban",
)
async def get_sip_ban(ban_id: BanId, svc: Svc) -> SipBanOut:
    return present(await svc.get(ban_id))


@router.delete(
    "/{ban_id}",
    status_code=204,
    dependencies=[Depends(require("sip_bans.delete"))],
    summary="Lift a ban",
)
async def lift_sip_ban(ban_id: BanId, svc: Svc, principal: PrincipalDep) -> Response:
    await svc.lift(principal, ban_id)
    return Response(status_code=204)
