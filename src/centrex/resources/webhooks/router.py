"""``/api/v1/tenants/{tenant_id}/webhooks`` (tenant webhooks) and ``/api/v1/system/webhooks`` (platform admins:
tenant lifecycle events of every tenant), each with ``rotate-secret``, ``enable``, ``test`` and the delivery log
(``deliveries``, one delivery with its attempts, ``replay``). (No ``from __future__ import annotations``: FastAPI
reads the endpoint annotations.)"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from centrex.api.deps import IfMatch, PrincipalDep, StateDep, TenantScopeDep, UowDep, require
from centrex.api.pagination import Page, PageParams, page_body, page_params
from centrex.api.route import CentrexRoute
from centrex.domain.tenancy import TenantKind, TenantScope, TenantStatus
from centrex.resources.crud import ObjectId, ResourceSpec, tenant_router
from centrex.resources.webhooks.schemas import (
    DeliveryDetail,
    DeliveryFilters,
    DeliveryOut,
    SecretOut,
    WebhookCreate,
    WebhookCreated,
    WebhookFilters,
    WebhookOut,
    WebhookUpdate,
)
from centrex.resources.webhooks.service import SystemWebhookService, WebhookService

TAG = {
    "name": "webhooks",
    "description": "Signed HTTP callbacks (Standard Webhooks) for this tenant's events, with retries, a delivery "
    "log, replay and test deliveries; system webhooks (platform admins) get tenant lifecycle events.",
}

DeliveryId = Annotated[str, Path(min_length=1, max_length=40, description="Delivery id.")]

tenant_routes = tenant_router(
    ResourceSpec(
        plural="webhooks",
        service=WebhookService,
        create=WebhookCreate,
        update=WebhookUpdate,
        filters=WebhookFilters,
        cache=False,  # delivery health (failures, disabling) changes outside requests
    )
)


async def _tenant_svc(uow: UowDep, state: StateDep) -> WebhookService:
    return WebhookService(uow, state)


async def _system_svc(uow: UowDep, state: StateDep) -> WebhookService:
    return SystemWebhookService(uow, state)


async def _platform_scope(principal: PrincipalDep) -> TenantScope:
    """System webhooks belong to the platform tenant (the home of platform administrators)."""
    return TenantScope(principal.tenant_id, principal.tenant_path, TenantKind.PLATFORM, TenantStatus.ACTIVE, principal)


def _actions(
    router: APIRouter,
    svc_dep: Callable[..., Awaitable[WebhookService]],
    scope_dep: Callable[..., Awaitable[TenantScope]],
    perm: Callable[[str], str],
    suffix: str,
) -> None:
    """The routes shared by tenant and system webhooks: secret rotation, re-enable, test, delivery log."""
    Svc = Annotated[WebhookService, Depends(svc_dep)]  # noqa: N806
    Scope = Annotated[TenantScope, Depends(scope_dep)]  # noqa: N806

    @router.post(
        "/{object_id}/rotate-secret",
        response_model=SecretOut,
        dependencies=[Depends(require(perm("rotate")))],
        summary="Rotate the signing secret (the old one keeps signing alongside for 24 h)",
        name=f"rotate_webhook_secret{suffix}",
    )
    async def rotate_secret(object_id: ObjectId, scope: Scope, svc: Svc) -> SecretOut:
        return await svc.rotate_secret(scope, object_id)

    @router.post(
        "/{object_id}/enable",
        response_model=WebhookOut,
        dependencies=[Depends(require(perm("enable")))],
        summary="Re-enable an endpoint (after automatic disabling); its pending deliveries resume",
        name=f"enable_webhook{suffix}",
    )
    async def enable(object_id: ObjectId, response: Response, scope: Scope, svc: Svc) -> Any:
        obj = await svc.enable(scope, object_id)
        response.headers["ETag"] = obj.etag
        return svc.present(obj)

    @router.post(
        "/{object_id}/test",
        response_model=DeliveryDetail,
        dependencies=[Depends(require(perm("test")))],
        summary="Send a `webhook.test` event now and return the result",
        name=f"test_webhook{suffix}",
    )
    async def test(object_id: ObjectId, scope: Scope, svc: Svc) -> DeliveryDetail:
        return await svc.test(scope, object_id)

    @router.get(
        "/{object_id}/deliveries",
        response_model=Page[DeliveryOut],
        dependencies=[Depends(require(perm("read")))],
        summary="The delivery log of an endpoint (newest first)",
        name=f"list_webhook_deliveries{suffix}",
    )
    async def deliveries(
        object_id: ObjectId,
        response: Response,
        scope: Scope,
        svc: Svc,
        filters: Annotated[DeliveryFilters, Query()],
        page: Annotated[PageParams, Depends(page_params)],
    ) -> dict[str, Any]:
        result = await svc.deliveries(scope, object_id, filters, page)
        return page_body(response, result, DeliveryOut.model_validate)

    @router.get(
        "/{object_id}/deliveries/{delivery_id}",
        response_model=DeliveryDetail,
        dependencies=[Depends(require(perm("read")))],
        summary="One delivery with all its attempts",
        name=f"get_webhook_delivery{suffix}",
    )
    async def delivery(object_id: ObjectId, delivery_id: DeliveryId, scope: Scope, svc: Svc) -> DeliveryDetail:
        return await svc.delivery(scope, object_id, delivery_id)

    @router.post(
        "/{object_id}/deliveries/{delivery_id}/replay",
        status_code=201,
        response_model=DeliveryOut,
        dependencies=[Depends(require(perm("replay")))],
        summary="Deliver the same event again (same body and `webhook-id`)",
        name=f"replay_webhook_delivery{suffix}",
    )
    async def replay(object_id: ObjectId, delivery_id: DeliveryId, scope: Scope, svc: Svc) -> DeliveryOut:
        return DeliveryOut.model_validate(await svc.replay(scope, object_id, delivery_id))


async def _tenant_scope(scope: TenantScopeDep) -> TenantScope:
    return scope


_actions(tenant_routes, _tenant_svc, _tenant_scope, lambda action: f"webhooks.{action}", "")

# ---------------------------------------------------------------------------------------------- system webhooks
system_routes = APIRouter(prefix="/system/webhooks", tags=["webhooks"], route_class=CentrexRoute)
SystemSvc = Annotated[WebhookService, Depends(_system_svc)]
PlatformScope = Annotated[TenantScope, Depends(_platform_scope)]
READ = "platform.webhooks.read"
WRITE = "platform.webhooks.write"


@system_routes.get(
    "",
    response_model=Page[WebhookOut],
    dependencies=[Depends(require(READ))],
    summary="List system webhooks",
)
async def list_system_webhooks(
    response: Response,
    scope: PlatformScope,
    svc: SystemSvc,
    filters: Annotated[WebhookFilters, Query()],
    page: Annotated[PageParams, Depends(page_params)],
) -> dict[str, Any]:
    result = await svc.list(scope, filters, page)
    return page_body(response, result, svc.present)


@system_routes.post(
    "",
    status_code=201,
    response_model=WebhookCreated,
    dependencies=[Depends(require(WRITE))],
    summary="Create a system webhook",
)
async def create_system_webhook(body: WebhookCreate, response: Response, scope: PlatformScope, svc: SystemSvc) -> Any:
    obj = await svc.create(scope, body)
    response.headers["Location"] = f"/api/v1/system/webhooks/{obj.id}"
    response.headers["ETag"] = obj.etag
    return svc.present_created(obj)


@system_routes.get(
    "/{object_id}",
    response_model=WebhookOut,
    dependencies=[Depends(require(READ))],
    summary="Get a system webhook",
)
async def get_system_webhook(object_id: ObjectId, response: Response, scope: PlatformScope, svc: SystemSvc) -> Any:
    obj = await svc.get(scope, object_id)
    response.headers["ETag"] = obj.etag
    return svc.present(obj)


@system_routes.patch(
    "/{object_id}",
    response_model=WebhookOut,
    dependencies=[Depends(require(WRITE))],
    summary="Update a system webhook",
)
async def update_system_webhook(
    object_id: ObjectId,
    body: WebhookUpdate,
    response: Response,
    scope: PlatformScope,
    svc: SystemSvc,
    if_match: IfMatch = None,
) -> Any:
    obj = await svc.update(scope, object_id, body, if_match)
    response.headers["ETag"] = obj.etag
    return svc.present(obj)


@system_routes.delete(
    "/{object_id}",
    status_code=204,
    dependencies=[Depends(require(WRITE))],
    summary="Delete a system webhook",
)
async def delete_system_webhook(
    object_id: ObjectId, scope: PlatformScope, svc: SystemSvc, if_match: IfMatch = None
) -> Response:
    await svc.delete(scope, object_id, if_match)
    return Response(status_code=204)


_actions(system_routes, _system_svc, _platform_scope, lambda action: READ if action == "read" else WRITE, "_system")

router = APIRouter()
router.include_router(tenant_routes)
router.include_router(system_routes)
