"""``/api/v1/tenants/{tenant_id}/caller-id-blocks``."""

from centrex.resources.caller_id_blocks.schemas import CallerIdBlockCreate, CallerIdBlockFilters, CallerIdBlockUpdate
from centrex.resources.caller_id_blocks.service import CallerIdBlockService
from centrex.resources.crud import ResourceSpec, tenant_router

TAG = {
    "name": "caller-id-blocks",
    "description": "Inbound callers (a number or a pattern) that are rejected, hung up on or sent to voicemail.",
}

router = tenant_router(
    ResourceSpec(
        plural="caller-id-blocks",
        service=CallerIdBlockService,
        create=CallerIdBlockCreate,
        update=CallerIdBlockUpdate,
        filters=CallerIdBlockFilters,
    )
)
