"""``/api/v1/tenants/{tenant_id}/conferences``."""

from centrex.resources.conferences.schemas import ConferenceCreate, ConferenceFilters, ConferenceUpdate
from centrex.resources.conferences.service import ConferenceService
from centrex.resources.crud import ResourceSpec, tenant_router

TAG = {
    "name": "conferences",
    "description": "Conference rooms: a number to dial, optional participant and moderator PINs, limits, recording.",
}

router = tenant_router(
    ResourceSpec(
        plural="conferences",
        service=ConferenceService,
        create=ConferenceCreate,
        update=ConferenceUpdate,
        filters=ConferenceFilters,
    )
)
