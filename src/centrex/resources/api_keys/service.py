"""API key rules: keys carry the tenant's administrator role (or read-only), are shown once, rotate with an
overlap window during which both keys work, and stop working at once when revoked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, or_

from centrex.db.models.api_key import ApiKey
from centrex.db.types import utcnow
from centrex.domain.errors import Conflict, InvalidInput, LimitExceeded
from centrex.domain.tenancy import ADMIN_ROLE_FOR_KIND, TenantScope
from centrex.resources.api_keys.repository import ApiKeyRepository
from centrex.resources.api_keys.schemas import (
    ApiKeyCreate,
    ApiKeyFilters,
    ApiKeyIssued,
    ApiKeyOut,
    ApiKeyUpdate,
)
from centrex.resources.common import check_etag
from centrex.resources.service import ResourceService
from centrex.security.keys import digest, display_prefix, generate_key

MAX_KEYS_PER_TENANT = 500


class ApiKeyService(ResourceService[ApiKey]):
    repository = ApiKeyRepository
    out_model = ApiKeyOut
    created_model = ApiKeyIssued

    def where(self, scope: TenantScope, filters: BaseModel) -> list[ColumnElement[bool]]:
        assert isinstance(filters, ApiKeyFilters)
        now = utcnow()
        if filters.status == "revoked":
            return [ApiKey.revoked_at.is_not(None)]
        if filters.status == "expired":
            return [ApiKey.revoked_at.is_(None), ApiKey.expires_at.is_not(None), ApiKey.expires_at <= now]
        if filters.status == "active":
            return [ApiKey.revoked_at.is_(None), or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now)]
        return []

    def present(self, key: ApiKey) -> ApiKeyOut:
        now = utcnow()
        status = "revoked" if key.revoked_at else ("expired" if key.expires_at and key.expires_at <= now else "active")
        used = self.state.auth.key_usage.get(key.id) or key.last_used_at
        return ApiKeyOut(
            id=key.id,
            tenant_id=key.tenant_id,
            name=key.name,
            prefix=key.prefix,
            role=key.role,
            read_only=key.read_only,
            status=status,
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
            last_used_at=used,
            created_by=key.created_by,
            replaced_by_id=key.replaced_by_id,
            created_at=key.created_at,
            updated_at=key.updated_at,
        )

    def _new(self, scope: TenantScope, name: str, read_only: bool, expires_at: Any, fmt: str) -> ApiKey:
        secret = generate_key(fmt)
        key = ApiKey(
            tenant_id=scope.tenant_id,
            name=name,
            prefix=display_prefix(secret),
            key_hash=digest(secret),
            role=ADMIN_ROLE_FOR_KIND[scope.tenant_kind].value,
            read_only=read_only or scope.principal.read_only,
            expires_at=expires_at,
            created_by=scope.principal.actor,
        )
        self.once[key.id] = {"key": secret}
        return key

    async def create(self, scope: TenantScope, data: ApiKeyCreate) -> ApiKey:
        if data.expires_at is not None and data.expires_at <= utcnow():
            raise InvalidInput.field("expires_at", "must be in the future")
        active = await self.repo.count(scope, ApiKey.revoked_at.is_(None))
        if active >= MAX_KEYS_PER_TENANT:
            raise LimitExceeded(f"at most {MAX_KEYS_PER_TENANT} active keys per tenant")
        key = self.repo.add(self._new(scope, data.name, data.read_only, data.expires_at, data.format))
        await self.session.flush()
        return key

    async def update(self, scope: TenantScope, obj_id: str, data: ApiKeyUpdate, if_match: str | None) -> ApiKey:
        key = await self.get(scope, obj_id)
        check_etag(key, if_match)
        if "name" in data.model_fields_set and data.name:
            key.name = data.name
        if "expires_at" in data.model_fields_set:
            if data.expires_at is not None and data.expires_at <= utcnow():
                raise InvalidInput.field("expires_at", "must be in the future")
            key.expires_at = data.expires_at
        await self.session.flush()
        return key

    async def rotate(self, scope: TenantScope, obj_id: str, overlap_seconds: int | None) -> ApiKey:
        old = await self.get(scope, obj_id)
        now = utcnow()
        if old.revoked_at is not None or (old.expires_at is not None and old.expires_at <= now):
            raise Conflict("Only an active key can be rotated")
        overlap = self.state.settings.key_rotation_overlap_seconds if overlap_seconds is None else overlap_seconds
        fmt = "hex32" if len(old.prefix) == 10 and not old.prefix.startswith("cx_") else "native"
        new = self.repo.add(self._new(scope, old.name, old.read_only, old.expires_at, fmt))
        ends = now + timedelta(seconds=overlap)
        old.expires_at = min(old.expires_at, ends) if old.expires_at else ends
        old.replaced_by_id = new.id
        self.uow.mark(old, "rotate")
        await self.session.flush()
        self.uow.emit(
            "api_key.rotated",
            resource_type="api_key",
            resource_id=old.id,
            data={"id": old.id, "replaced_by_id": new.id, "old_key_expires_at": ends.isoformat()},
            tenant_id=scope.tenant_id,
            tenant_path=scope.tenant_path,
        )
        return new

    async def revoke(self, scope: TenantScope, obj_id: str) -> ApiKey:
        key = await self.get(scope, obj_id)
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            self.uow.mark(key, "revoke")
            await self.session.flush()
            self.uow.emit(
                "api_key.revoked",
                resource_type="api_key",
                resource_id=key.id,
                data={"id": key.id, "name": key.name},
                tenant_id=scope.tenant_id,
                tenant_path=scope.tenant_path,
            )
        return key
