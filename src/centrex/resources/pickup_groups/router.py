"""``/api/v1/tenants/{tenant_id}/pickup-groups``."""

from centrex.resources.crud import ResourceSpec, tenant_router
from centrex.resources.pickup_groups.schemas import PickupGroupCreate, PickupGroupFilters, PickupGroupUpdate
from centrex.resources.pickup_groups.service import PickupGroupService

TAG = {
    "name": "pickup-groups",
    "description": "Pickup groups: the members may answer each other's ringing calls (call pickup).",
}

router = tenant_router(
    ResourceSpec(
        plural="pickup-groups",
        service=PickupGroupService,
        create=PickupGroupCreate,
        update=PickupGroupUpdate,
        filters=PickupGroupFilters,
        singular="pickup group",
    )
)
