"""Tenant rules: who may create what where, limits within the parent's, template copies, suspension, deletion."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from centrex.api.pagination import PageParams, PageResult
from centrex.db.models.extension import Extension
from centrex.db.models.tenant import Tenant
from centrex.db.uow import UnitOfWork
from centrex.domain.errors import (
    Conflict,
    Duplicate,
    ErrorCollector,
    InUse,
    InvalidInput,
    PermissionDenied,
    Reference,
)
from centrex.domain.tenancy import (
    CHILD_KINDS,
    DEFAULT_DESTINATION_CLASSES,
    DestinationClass,
    Principal,
    Role,
    TenantKind,
    TenantStatus,
)
from centrex.resources.common import check_etag
from centrex.resources.extensions.service import ensure_personal_boxes
from centrex.resources.outbound_routes.service import ensure_emergency_route
from centrex.resources.tenants import copier
from centrex.resources.tenants.repository import TenantRepository
from centrex.resources.tenants.schemas import TenantCreate, TenantFilters, TenantLimits, TenantUpdate

_LIMIT_FIELDS = ("max_extensions", "max_concurrent_calls", "max_calls_per_second")


class TenantService:
    def __init__(self, uow: UnitOfWork, platform_domain: str) -> None:
        self.uow = uow
        self.session: AsyncSession = uow.session
        self.repo = TenantRepository(self.session)
        self.platform_domain = platform_domain

    # ------------------------------------------------------------------------------------------ reads
    async def list(self, principal: Principal, filters: TenantFilters, params: PageParams) -> PageResult[Any]:
        where = []
        if filters.parent_id:
            parent = await self.repo.find(principal, filters.parent_id)
            where.append(Tenant.parent_id == (parent.id if parent else "-"))
        if filters.kind:
            where.append(Tenant.kind == filters.kind)
        if filters.status:
            where.append(Tenant.status == filters.status)
        if filters.is_template is not None:
            where.append(Tenant.is_template == filters.is_template)
        if filters.q:
            like = f"%{filters.q.lower()}%"
            where.append(or_(func.lower(Tenant.code).like(like), func.lower(Tenant.name).like(like)))
        return await self.repo.page(principal, params, *where)

    async def get(self, principal: Principal, key: str) -> Tenant:
        return await self.repo.get(principal, key)

    # ------------------------------------------------------------------------------------------ create
    async def create(self, principal: Principal, data: TenantCreate) -> Tenant:
        parent = await self.repo.get(principal, data.parent_id or principal.tenant_id)
        kind = TenantKind(data.kind)
        if kind not in CHILD_KINDS[TenantKind(parent.kind)]:
            raise InvalidInput.field("kind", f"a {parent.kind} cannot hold a {kind.value}")
        if principal.role not in (Role.PLATFORM_ADMIN, Role.RESELLER_ADMIN):
            raise PermissionDenied("Only platform and reseller administrators create tenants")
        template = None
        if data.template_id:
            template = await self.repo.find(principal, data.template_id)
            if template is None:
                raise InvalidInput.field("template_id", f"no visible tenant {data.template_id!r}", "invalid_reference")
        names = copier.select_resources(data.copy_resources) if template is not None else set()

        errors = ErrorCollector()
        if await self.repo.by_code(data.code) is not None:
            raise Duplicate(f"tenant code {data.code!r} is taken", field="code")
        sip_domain = data.sip_domain or f"{data.code}.{self.platform_domain}"
        if await self.repo.by_sip_domain(sip_domain) is not None:
            raise Duplicate(f"SIP domain {sip_domain!r} is taken", field="sip_domain")

        def inherit(name: str, default: Any) -> Any:
            value = getattr(data, name)
            if value is not None:
                return value
            return getattr(template, name) if template is not None else default

        tenant = Tenant(
            parent_id=parent.id,
            kind=kind.value,
            code=data.code,
            name=data.name,
            description=data.description,
            status=TenantStatus.ACTIVE.value,
            depth=parent.depth + 1,
            is_template=data.is_template,
            template_id=template.id if template else None,
            sip_domain=sip_domain,
            extension_length=inherit("extension_length", 3),
            timezone=inherit("timezone", parent.timezone if parent.kind != "platform" else "UTC"),
            language=inherit("language", parent.language),
            emergency_location=(
                data.emergency_location.model_dump()
                if data.emergency_location
                else (template.emergency_location if template else None)
            ),
            settings=dict(data.settings) if data.settings is not None else dict(template.settings if template else {}),
        )
        tenant.path = f"{parent.path}{tenant.id}/"
        limits = data.limits
        if limits is None and template is not None:
            limits = TenantLimits(
                max_extensions=template.max_extensions,
                max_concurrent_calls=template.max_concurrent_calls,
                max_calls_per_second=template.max_calls_per_second,
                allowed_destination_classes=[DestinationClass(c) for c in template.allowed_destination_classes],
            )
        self._apply_limits(tenant, parent, limits or TenantLimits(), errors, creating=True)
        errors.raise_if_any()
        self.session.add(tenant)
        await self.session.flush()
        if template is not None and names:
            counts = await copier.copy_resources(self.session, template.id, tenant.id, names)
            if tenant.max_extensions is not None and counts.get("extension", 0) > tenant.max_extensions:
                raise InvalidInput.field(
                    "copy_resources", "the template has more extensions than this tenant's max_extensions"
                )
            if counts.get("extension"):
                await ensure_personal_boxes(self.session, tenant.id)
        # Kari's Law: every tenant can dial 911 from the first moment (a copied emergency route counts).
        await ensure_emergency_route(self.session, tenant.id)
        return tenant

    def _apply_limits(
        self,
        tenant: Tenant,
        parent: Tenant | None,
        limits: TenantLimits,
        errors: ErrorCollector,
        *,
        creating: bool,
    ) -> None:
        given = limits.model_fields_set if not creating else set(TenantLimits.model_fields)
        for name in _LIMIT_FIELDS:
            if name not in given:
                continue
            value = getattr(limits, name)
            cap = getattr(parent, name) if parent is not None else None
            if cap is not None and (value is None or value > cap):
                errors.add(f"limits.{name}", f"must be at most the parent's limit ({cap})", "exceeds_parent")
            setattr(tenant, name, value)
        if "allowed_destination_classes" in given:
            parent_classes = (
                set(parent.allowed_destination_classes)
                if parent is not None and parent.kind != "platform" and parent.allowed_destination_classes
                else None
            )
            if limits.allowed_destination_classes is None:
                classes = {c.value for c in DEFAULT_DESTINATION_CLASSES}
                if parent_classes is not None:
                    classes &= parent_classes
            else:
                classes = {c.value for c in limits.allowed_destination_classes}
                if parent_classes is not None and not classes <= parent_classes | {"emergency"}:
                    extra = sorted(classes - parent_classes - {"emergency"})
                    errors.add(
                        "limits.allowed_destination_classes",
                        f"not allowed by the parent: {', '.join(extra)}",
                        "exceeds_parent",
                    )
            classes.add("emergency")
            tenant.allowed_destination_classes = sorted(classes)

    # ------------------------------------------------------------------------------------------ update
    async def update(self, principal: Principal, key: str, data: TenantUpdate, if_match: str | None) -> Tenant:
        tenant = await self.repo.get(principal, key)
        check_etag(tenant, if_match)
        fields = data.model_fields_set
        errors = ErrorCollector()
        if "limits" in fields and data.limits is not None:
            if not principal.can("tenants.limits") or principal.tenant_id == tenant.id:
                raise PermissionDenied("Limits are set by the administrators above this tenant")
            parent = await self.session.get(Tenant, tenant.parent_id) if tenant.parent_id else None
            self._apply_limits(tenant, parent, data.limits, errors, creating=False)
        if "sip_domain" in fields and data.sip_domain and data.sip_domain != tenant.sip_domain:
            if principal.tenant_id == tenant.id:
                raise PermissionDenied("The SIP domain is set by the administrators above this tenant")
            if await self.repo.by_sip_domain(data.sip_domain) is not None:
                raise Duplicate(f"SIP domain {data.sip_domain!r} is taken", field="sip_domain")
            tenant.sip_domain = data.sip_domain
        if "extension_length" in fields and data.extension_length and data.extension_length != tenant.extension_length:
            bad = await self.session.scalar(
                select(func.count())
                .select_from(Extension)
                .where(Extension.tenant_id == tenant.id, func.length(Extension.number) != data.extension_length)
            )
            if bad:
                raise Conflict(f"{bad} extension(s) have numbers of another length; renumber them first")
            tenant.extension_length = data.extension_length
        for name in ("name", "description", "is_template", "timezone", "language"):
            if name in fields and getattr(data, name) is not None:
                setattr(tenant, name, getattr(data, name))
        if "emergency_location" in fields:
            tenant.emergency_location = data.emergency_location.model_dump() if data.emergency_location else None
        if "settings" in fields and data.settings is not None:
            tenant.settings = {**(tenant.settings or {}), **data.settings}
            tenant.settings = {k: v for k, v in tenant.settings.items() if v is not None}
        errors.raise_if_any()
        await self.session.flush()
        return tenant

    # ------------------------------------------------------------------------------------------ lifecycle
    async def _managed(self, principal: Principal, key: str, if_match: str | None) -> Tenant:
        tenant = await self.repo.get(principal, key)
        check_etag(tenant, if_match)
        if tenant.kind == TenantKind.PLATFORM.value:
            raise Conflict("The platform tenant cannot be suspended or deleted")
        if tenant.id == principal.tenant_id:
            raise PermissionDenied("A tenant is suspended or deleted by the administrators above it")
        return tenant

    async def suspend(self, principal: Principal, key: str, reason: str, if_match: str | None) -> Tenant:
        tenant = await self._managed(principal, key, if_match)
        if tenant.status != TenantStatus.SUSPENDED.value:
            tenant.status = TenantStatus.SUSPENDED.value
            tenant.suspended_reason = reason or None
            self.uow.mark(tenant, "suspend")
            await self.session.flush()
            self.uow.emit(
                "tenant.suspended",
                resource_type="tenant",
                resource_id=tenant.id,
                data={"id": tenant.id, "code": tenant.code, "reason": reason},
                tenant_id=tenant.id,
                tenant_path=tenant.path,
            )
        return tenant

    async def resume(self, principal: Principal, key: str, if_match: str | None) -> Tenant:
        tenant = await self._managed(principal, key, if_match)
        if tenant.status != TenantStatus.ACTIVE.value:
            tenant.status = TenantStatus.ACTIVE.value
            tenant.suspended_reason = None
            self.uow.mark(tenant, "resume")
            await self.session.flush()
            self.uow.emit(
                "tenant.resumed",
                resource_type="tenant",
                resource_id=tenant.id,
                data={"id": tenant.id, "code": tenant.code},
                tenant_id=tenant.id,
                tenant_path=tenant.path,
            )
        return tenant

    async def delete(self, principal: Principal, key: str, if_match: str | None) -> None:
        tenant = await self._managed(principal, key, if_match)
        children = await self.repo.children(tenant)
        if children:
            raise InUse(
                f"tenant {tenant.code!r} still has {len(children)} sub-tenant(s); delete or move them first",
                references=[Reference("tenant", c.id, "parent_id", c.code) for c in children],
            )
        numbers = await self.repo.numbers(tenant)
        if numbers:
            listing = ", ".join(n.number for n in numbers[:20])
            raise InUse(
                f"tenant {tenant.code!r} still has {len(numbers)} number(s) assigned: {listing}",
                references=[Reference("number", n.id, "tenant_id", n.number) for n in numbers],
            )
        # Tenants made from this one keep no dangling template reference (their audit trail records the origin).
        for derived in await self.repo.derived_from(tenant):
            derived.template_id = None
        await self.session.delete(tenant)
        await self.session.flush()
