"""``/api/v1/tenants/{tenant_id}/inbound-routes``."""

from centrex.resources.crud import ResourceSpec, tenant_router
from centrex.resources.inbound_routes.schemas import InboundRouteCreate, InboundRouteFilters, InboundRouteUpdate
from centrex.resources.inbound_routes.service import InboundRouteService

TAG = {
    "name": "inbound-routes",
    "description": "Where calls to the tenant's numbers go: a DID or a DID pattern (and caller-ID pattern) → a "
    "destination.",
}

router = tenant_router(
    ResourceSpec(
        plural="inbound-routes",
        service=InboundRouteService,
        create=InboundRouteCreate,
        update=InboundRouteUpdate,
        filters=InboundRouteFilters,
    )
)
