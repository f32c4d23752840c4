"""Tenant API schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from centrex.domain.tenancy import DestinationClass
from centrex.resources.fields import EmergencyLocation, Hostname, Language, Name, StrictModel, Text, TimeZone

TenantCode = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", max_length=63),
    Field(
        description="Short unique code (lower-case letters, digits, dashes); also the MiRTA tenant code.",
        examples=["acme"],
    ),
]
SettingValue = str | int | float | bool | None


class TenantLimits(StrictModel):
    """Per-tenant limits; null means unlimited. A child's limits may not exceed its parent's."""

    max_extensions: int | None = Field(default=None, ge=0, le=1_000_000)
    max_concurrent_calls: int | None = Field(default=None, ge=0, le=1_000_000)
    max_calls_per_second: float | None = Field(default=None, gt=0, le=100_000)
    allowed_destination_classes: list[DestinationClass] | None = Field(
        default=None,
        description="Outbound destination classes this tenant may call; emergency is always allowed. "
        "Default: internal, local, national, mobile, toll_free.",
        max_length=len(DestinationClass),
    )


def _check_settings(value: dict[str, SettingValue] | None) -> dict[str, SettingValue] | None:
    if value is None:
        return None
    if len(value) > 200:
        raise ValueError("at most 200 settings")
    for key, item in value.items():
        if not (1 <= len(key) <= 64) or not key.replace("_", "").replace(".", "").replace("-", "").isalnum():
            raise ValueError(f"invalid setting name {key!r}")
        if isinstance(item, str) and len(item) > 1000:
            raise ValueError(f"setting {key!r} is longer than 1000 characters")
    return value


class TenantCreate(StrictModel):
    code: TenantCode
    name: Name
    kind: Literal["reseller", "tenant"] = "tenant"
    parent_id: str | None = Field(
        default=None,
        max_length=63,
        description="Parent tenant (id or code); default: the caller's own tenant.",
    )
    description: Text = ""
    template_id: str | None = Field(
        default=None,
        max_length=63,
        description="Create from this template tenant (id or code): copies its limits, settings and every "
        "tenant-owned resource marked for template copy (routes, schedules, menus, queues, prompts…).",
    )
    copy_resources: list[Annotated[str, StringConstraints(max_length=64)]] | None = Field(
        default=None,
        max_length=50,
        description="Resource types to copy from the template; default: those copied by default.",
    )
    is_template: bool = False
    sip_domain: Hostname | None = Field(default=None, description="Default: `<code>.<platform domain>`.")
    extension_length: int | None = Field(default=None, ge=2, le=8)
    limits: TenantLimits | None = None
    timezone: TimeZone | None = None
    language: Language | None = None
    emergency_location: EmergencyLocation | None = None
    settings: dict[Annotated[str, StringConstraints(max_length=64)], SettingValue] | None = None

    _settings = field_validator("settings")(_check_settings)


class TenantUpdate(StrictModel):
    name: Name | None = None
    description: Text | None = None
    is_template: bool | None = None
    sip_domain: Hostname | None = None
    extension_length: int | None = Field(default=None, ge=2, le=8)
    limits: TenantLimits | None = None
    timezone: TimeZone | None = None
    language: Language | None = None
    emergency_location: EmergencyLocation | None = None
    settings: dict[Annotated[str, StringConstraints(max_length=64)], SettingValue] | None = None

    _settings = field_validator("settings")(_check_settings)


class SuspendIn(StrictModel):
    reason: Annotated[str, StringConstraints(max_length=500)] = ""


class TenantLimitsOut(BaseModel):
    max_extensions: int | None
    max_concurrent_calls: int | None
    max_calls_per_second: float | None
    allowed_destination_classes: list[str]


class TenantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    code: str
    name: str
    kind: str
    parent_id: str | None
    status: str
    suspended_reason: str | None
    description: str
    is_template: bool
    template_id: str | None
    sip_domain: str
    extension_length: int
    limits: TenantLimitsOut
    timezone: str
    language: str
    emergency_location: dict[str, Any] | None
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, tenant: Any) -> TenantOut:
        return cls(
            id=tenant.id,
            code=tenant.code,
            name=tenant.name,
            kind=tenant.kind,
            parent_id=tenant.parent_id,
            status=tenant.status,
            suspended_reason=tenant.suspended_reason,
            description=tenant.description,
            is_template=tenant.is_template,
            template_id=tenant.template_id,
            sip_domain=tenant.sip_domain,
            extension_length=tenant.extension_length,
            limits=TenantLimitsOut(
                max_extensions=tenant.max_extensions,
                max_concurrent_calls=tenant.max_concurrent_calls,
                max_calls_per_second=tenant.max_calls_per_second,
                allowed_destination_classes=list(tenant.allowed_destination_classes or []),
            ),
            timezone=tenant.timezone,
            language=tenant.language,
            emergency_location=tenant.emergency_location,
            settings=tenant.settings or {},
            created_at=tenant.created_at,
            updated_at=tenant.updated_at,
        )


class TenantFilters(BaseModel):
    parent_id: str | None = None
    kind: Literal["platform", "reseller", "tenant"] | None = None
    status: Literal["active", "suspended"] | None = None
    is_template: bool | None = None
    q: str | None = None
