"""Client collections for ring groups, pickup groups, extension groups, queues and conferences."""

from __future__ import annotations

from centrex.client.resources import TenantCollection


class RingGroups(TenantCollection):
    plural = "ring-groups"


class PickupGroups(TenantCollection):
    plural = "pickup-groups"


class ExtensionGroups(TenantCollection):
    plural = "extension-groups"


class Queues(TenantCollection):
    plural = "queues"


class Conferences(TenantCollection):
    plural = "conferences"
