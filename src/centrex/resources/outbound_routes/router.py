"""``/api/v1/tenants/{tenant_id}/outbound-routes``."""

from centrex.resources.crud import ResourceSpec, tenant_router
from centrex.resources.outbound_routes.schemas import OutboundRouteCreate, OutboundRouteFilters, OutboundRouteUpdate
from centrex.resources.outbound_routes.service import OutboundRouteService

TAG = {
    "name": "outbound-routes",
    "description": "Dial patterns of a destination class → trunks in failover order; every tenant has an emergency "
    "route that cannot be deleted or disabled.",
}

router = tenant_router(
    ResourceSpec(
        plural="outbound-routes",
        service=OutboundRouteService,
        create=OutboundRouteCreate,
        update=OutboundRouteUpdate,
        filters=OutboundRouteFilters,
    )
)
