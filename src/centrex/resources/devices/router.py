"""``/api/v1/tenants/{tenant_id}/devices``."""

from centrex.resources.crud import ResourceSpec, tenant_router
from centrex.resources.devices.schemas import DeviceCreate, DeviceFilters, DeviceUpdate
from centrex.resources.devices.service import DeviceService

router = tenant_router(
    ResourceSpec(
        plural="devices",
        service=DeviceService,
        create=DeviceCreate,
        update=DeviceUpdate,
        filters=DeviceFilters,
    )
)
