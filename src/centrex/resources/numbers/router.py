"""``/api/v1/tenants/{tenant_id}/numbers``."""

from centrex.resources.crud import ResourceSpec, tenant_router
from centrex.resources.numbers.schemas import NumberCreate, NumberFilters, NumberUpdate
from centrex.resources.numbers.service import NumberService

router = tenant_router(
    ResourceSpec(
        plural="numbers",
        service=NumberService,
        create=NumberCreate,
        update=NumberUpdate,
        filters=NumberFilters,
    )
)
