"""Tenancy and authorisation model: tenant kinds, roles, permissions, principals and scopes.

Tenants form a tree (platform → reseller → tenant). A principal (a user, an API key or a browser session) has a
home tenant and a role; it sees its home tenant's sub-tree, nothing else. Permissions are strings such as
``extensions.create``: roles grant patterns (``*``, ``extensions.*``) minus a deny list; a read-only credential keeps
only ``*.read`` permissions. Object-level rules (a user sees only their own extension) live in the services.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from enum import StrEnum


class TenantKind(StrEnum):
    PLATFORM = "platform"
    RESELLER = "reseller"
    TENANT = "tenant"


class TenantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Role(StrEnum):
    PLATFORM_ADMIN = "platform_admin"
    RESELLER_ADMIN = "reseller_admin"
    TENANT_ADMIN = "tenant_admin"
    USER = "user"


ADMIN_ROLE_FOR_KIND: dict[TenantKind, Role] = {
    TenantKind.PLATFORM: Role.PLATFORM_ADMIN,
    TenantKind.RESELLER: Role.RESELLER_ADMIN,
    TenantKind.TENANT: Role.TENANT_ADMIN,
}

# Which kinds of tenant may be created under which parent kind.
CHILD_KINDS: dict[TenantKind, frozenset[TenantKind]] = {
    TenantKind.PLATFORM: frozenset({TenantKind.RESELLER, TenantKind.TENANT}),
    TenantKind.RESELLER: frozenset({TenantKind.RESELLER, TenantKind.TENANT}),
    TenantKind.TENANT: frozenset(),
}


def roles_for_kind(kind: TenantKind) -> frozenset[Role]:
    """Roles a user of a tenant of this kind may hold (end users exist only in tenants)."""
    if kind is TenantKind.TENANT:
        return frozenset({Role.TENANT_ADMIN, Role.USER})
    return frozenset({ADMIN_ROLE_FOR_KIND[kind]})


class DestinationClass(StrEnum):
    """Classes of outbound destinations; a tenant allows a set, an extension has a level."""

    INTERNAL = "internal"
    LOCAL = "local"
    NATIONAL = "national"
    MOBILE = "mobile"
    TOLL_FREE = "toll_free"
    INTERNATIONAL = "international"
    PREMIUM = "premium"
    EMERGENCY = "emergency"


DEFAULT_DESTINATION_CLASSES: frozenset[DestinationClass] = frozenset(
    {
        DestinationClass.INTERNAL,
        DestinationClass.LOCAL,
        DestinationClass.NATIONAL,
        DestinationClass.MOBILE,
        DestinationClass.TOLL_FREE,
        DestinationClass.EMERGENCY,
    }
)


class OutboundLevel(StrEnum):
    """An extension's outbound permission class: each level includes the ones before it.

    Emergency calls are always allowed whatever the level (Kari's Law).
    """

    INTERNAL = "internal"
    LOCAL = "local"
    NATIONAL = "national"
    INTERNATIONAL = "international"
    UNRESTRICTED = "unrestricted"


_LEVEL_CLASSES: dict[OutboundLevel, frozenset[DestinationClass]] = {}
_acc: set[DestinationClass] = {DestinationClass.EMERGENCY, DestinationClass.INTERNAL}
for _level, _adds in (
    (OutboundLevel.INTERNAL, ()),
    (OutboundLevel.LOCAL, (DestinationClass.LOCAL, DestinationClass.TOLL_FREE)),
    (OutboundLevel.NATIONAL, (DestinationClass.NATIONAL, DestinationClass.MOBILE)),
    (OutboundLevel.INTERNATIONAL, (DestinationClass.INTERNATIONAL,)),
    (OutboundLevel.UNRESTRICTED, (DestinationClass.PREMIUM,)),
):
    _acc.update(_adds)
    _LEVEL_CLASSES[_level] = frozenset(_acc)


def classes_for_level(level: OutboundLevel) -> frozenset[DestinationClass]:
    return _LEVEL_CLASSES[level]


def may_dial(destination: DestinationClass, level: OutboundLevel, tenant_allows: frozenset[DestinationClass]) -> bool:
    """Emergency always; otherwise both the extension's level and the tenant's allowed set must admit it."""
    if destination is DestinationClass.EMERGENCY:
        return True
    return destination in classes_for_level(level) and destination in tenant_allows


# ---------------------------------------------------------------------------------------------- permissions

# Platform-level powers: denied to reseller and tenant administrators (users never hold them).
PLATFORM_ONLY = ("platform.*", "sip_bans.*")
# What a tenant administrator may not do even inside their own tenant.
TENANT_ADMIN_DENY = (
    *PLATFORM_ONLY,
    "tenants.create",
    "tenants.delete",
    "tenants.suspend",
    "tenants.limits",
    "numbers.create",
    "numbers.delete",
)
USER_ALLOW = (
    "tenants.read",
    "extensions.read",
    "extensions.update",
    "extensions.secrets",
    "devices.read",
    "voicemail_boxes.read",
    "voicemail_boxes.pin",
    # Company phonebooks to read, personal ones to keep (the slice enforces which is which).
    "phonebooks.*",
    "contacts.*",
    # Their own extension's call records and missed calls (the slice enforces which).
    "cdrs.read",
    "auth.*",
)

_ROLE_RULES: dict[Role, tuple[tuple[str, ...], tuple[str, ...]]] = {
    Role.PLATFORM_ADMIN: (("*",), ()),
    Role.RESELLER_ADMIN: (("*",), PLATFORM_ONLY),
    Role.TENANT_ADMIN: (("*",), TENANT_ADMIN_DENY),
    Role.USER: (USER_ALLOW, ()),
}


def role_allows(role: Role, permission: str, *, read_only: bool = False) -> bool:
    """Does ``role`` grant ``permission``? Read-only credentials keep only ``*.read`` (and ``auth.*``)."""
    if read_only and not (permission.endswith(".read") or permission.startswith("auth.")):
        return False
    allow, deny = _ROLE_RULES[role]
    if any(fnmatch.fnmatchcase(permission, pattern) for pattern in deny):
        return False
    return any(fnmatch.fnmatchcase(permission, pattern) for pattern in allow)


def outranks(actor: Role, target: Role) -> bool:
    """May ``actor`` manage an account holding ``target``? Never upwards, never sideways above admin."""
    order = [Role.USER, Role.TENANT_ADMIN, Role.RESELLER_ADMIN, Role.PLATFORM_ADMIN]
    return order.index(actor) >= order.index(target)


@dataclass(frozen=True)
class Principal:
    """Who is calling: resolved once per request from a credential."""

    kind: str  # "user" | "api_key" | "session"
    id: str  # user id or key id
    name: str
    role: Role
    tenant_id: str
    tenant_path: str
    read_only: bool = False
    user_id: str | None = None
    extension_id: str | None = None
    csrf_token: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def can(self, permission: str) -> bool:
        return role_allows(self.role, permission, read_only=self.read_only)

    def sees_path(self, tenant_path: str) -> bool:
        """Is the tenant with this materialised path inside the principal's sub-tree?"""
        if self.role is Role.USER or self.role is Role.TENANT_ADMIN:
            return tenant_path == self.tenant_path
        return tenant_path.startswith(self.tenant_path)

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class TenantScope:
    """A resolved, authorised tenant for a tenant-owned request: repositories require one."""

    tenant_id: str
    tenant_path: str
    tenant_kind: TenantKind
    tenant_status: TenantStatus
    principal: Principal

    @property
    def own_extension_only(self) -> str | None:
        """For end users: the one extension they may see; None for administrators."""
        if self.principal.role is Role.USER:
            return self.principal.extension_id or "-"
        return None


# Every permission string used by the API (documented in docs/auth.md; `GET /api/v1/auth/me` lists those held):
# read/create/update/delete for each resource, plus its extra actions.
_CRUD = ("read", "create", "update", "delete")
_RESOURCE_ACTIONS: dict[str, tuple[str, ...]] = {
    "tenants": ("suspend", "limits"),
    "users": (),
    "api_keys": ("rotate", "revoke"),
    "extensions": ("secrets",),
    "devices": (),
    "numbers": (),
    "inbound_routes": (),
    "trunks": (),
    "outbound_routes": (),
    "caller_id_blocks": (),
    "ring_groups": (),
    "pickup_groups": (),
    "extension_groups": (),
    "queues": ("agents",),
    "conferences": (),
    "ivrs": (),
    "time_conditions": (),
    "voicemail_boxes": ("pin",),
    "voicemail_messages": (),
    "media": (),
    "moh_classes": (),
    "phonebooks": (),
    "contacts": (),
    "registrations": (),
    "cdrs": (),
    "webhooks": ("rotate", "enable", "test", "replay"),
}
PERMISSION_CATALOGUE: tuple[str, ...] = (
    *(f"{res}.{action}" for res, extra in _RESOURCE_ACTIONS.items() for action in (*_CRUD, *extra)),
    "audit.read",
    "events.read",
    "routing.read",
    "auth.password",
    "sip_bans.read",
    "sip_bans.create",
    "sip_bans.delete",
    "calls.control",
    "platform.webhooks.read",
    "platform.webhooks.write",
)
