"""Builds the standard routes of a tenant-owned resource from its declaration.

    GET    /tenants/{tenant_id}/<plural>          list (typed filters, limit/offset/cursor/sort, X-Total-Count)
    POST   /tenants/{tenant_id}/<plural>          create (201, Location, ETag; Idempotency-Key honoured)
    GET    /tenants/{tenant_id}/<plural>/{id}     read (ETag)
    PATCH  /tenants/{tenant_id}/<plural>/{id}     update (If-Match)
    DELETE /tenants/{tenant_id}/<plural>/{id}     delete (If-Match; 409 with the references if still in use)

Permissions are ``<plural>.read|create|update|delete``. (No ``from __future__ import annotations`` here: FastAPI
reads the endpoint annotations, which name the resource's own types.)
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel

from centrex.api.deps import IfMatch, StateDep, TenantScopeDep, UowDep, require
from centrex.api.pagination import Page, PageParams, page_body, page_params
from centrex.api.response_cache import cached
from centrex.api.route import CentrexRoute
from centrex.resources.service import ResourceService

ObjectId = Annotated[str, Path(min_length=1, max_length=40, description="Object id.")]


@dataclass
class ResourceSpec:
    plural: str  # URL segment and permission prefix, e.g. "extensions" (dashes in URL, underscores in perms)
    service: type[ResourceService[Any]]  # names the output models (out_model, created_model)
    create: type[BaseModel]
    update: type[BaseModel]
    filters: type[BaseModel]
    singular: str = ""
    cache: bool = True  # answers may be served from the response cache (not for data that changes off-commit)

    @property
    def table(self) -> str:
        return str(self.service.repository.model.__tablename__)

    @property
    def perm(self) -> str:
        return self.plural.replace("-", "_")


def tenant_router(spec: ResourceSpec) -> APIRouter:
    router = APIRouter(prefix=f"/tenants/{{tenant_id}}/{spec.plural}", tags=[spec.plural], route_class=CentrexRoute)
    name = spec.singular or spec.plural.rstrip("s")

    def cacheable(fn: Callable[..., Any]) -> Callable[..., Any]:
        return cached(spec.table)(fn) if spec.cache else fn

    async def service(uow: UowDep, state: StateDep) -> ResourceService[Any]:
        return spec.service(uow, state)

    Svc = Annotated[ResourceService[Any], Depends(service)]
    Filters = Annotated[spec.filters, Query()]
    CreateBody = spec.create
    UpdateBody = spec.update
    Out = spec.service.out_model
    created_model = spec.service.created_model or Out

    @router.get(
        "",
        response_model=Page[Out],
        summary=f"List {spec.plural}",
        dependencies=[Depends(require(f"{spec.perm}.read"))],
    )
    @cacheable
    async def list_objects(
        response: Response,
        scope: TenantScopeDep,
        svc: Svc,
        filters: Filters,
        page: Annotated[PageParams, Depends(page_params)],
    ) -> dict[str, Any]:
        result = await svc.list(scope, filters, page)
        return page_body(response, result, svc.present)

    @router.post(
        "",
        status_code=201,
        response_model=created_model,
        summary=f"Create a {name}",
        dependencies=[Depends(require(f"{spec.perm}.create"))],
    )
    async def create_object(
        body: CreateBody,
        response: Response,
        scope: TenantScopeDep,
        svc: Svc,
    ) -> BaseModel:
        obj = await svc.create(scope, body)
        response.headers["Location"] = f"/api/v1/tenants/{scope.tenant_id}/{spec.plural}/{obj.id}"
        response.headers["ETag"] = obj.etag
        return svc.present_created(obj)

    @router.get(
        "/{object_id}",
        response_model=Out,
        summary=f"Get a {name}",
        dependencies=[Depends(require(f"{spec.perm}.read"))],
    )
    @cacheable
    async def get_object(object_id: ObjectId, response: Response, scope: TenantScopeDep, svc: Svc) -> BaseModel:
        obj = await svc.get(scope, object_id)
        response.headers["ETag"] = obj.etag
        return svc.present(obj)

    @router.patch(
        "/{object_id}",
        response_model=Out,
        summary=f"Update a {name}",
        dependencies=[Depends(require(f"{spec.perm}.update"))],
    )
    async def update_object(
        object_id: ObjectId,
        body: UpdateBody,
        response: Response,
        scope: TenantScopeDep,
        svc: Svc,
        if_match: IfMatch = None,
    ) -> BaseModel:
        obj = await svc.update(scope, object_id, body, if_match)
        response.headers["ETag"] = obj.etag
        return svc.present(obj)

    @router.delete(
        "/{object_id}",
        status_code=204,
        summary=f"Delete a {name}",
        dependencies=[Depends(require(f"{spec.perm}.delete"))],
    )
    async def delete_object(object_id: ObjectId, scope: TenantScopeDep, svc: Svc, if_match: IfMatch = None) -> Response:
        await svc.delete(scope, object_id, if_match)
        return Response(status_code=204)

    for route in router.routes:
        route.name = f"{route.name}_{spec.perm}"
    return router
