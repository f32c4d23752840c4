"""Client collections for call routing: inbound routes, trunks, outbound routes, caller-ID blocks, dial-plan test."""

from __future__ import annotations

from centrex.client.resources import TenantCollection


class InboundRoutes(TenantCollection):
    plural = "inbound-routes"


class Trunks(TenantCollection):
    plural = "trunks"


class OutboundRoutes(TenantCollection):
    plural = "outbound-routes"


class CallerIdBlocks(TenantCollection):
    plural = "caller-id-blocks"
