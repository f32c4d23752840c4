"""``/api/v1/tenants/{tenant_id}/moh-classes``."""

from centrex.resources.crud import ResourceSpec, tenant_router
from centrex.resources.moh_classes.schemas import MohClassCreate, MohClassFilters, MohClassUpdate
from centrex.resources.moh_classes.service import MohClassService

TAG = {
    "name": "moh-classes",
    "description": "Music-on-hold classes: ordered (or random) playlists of media files; one default per tenant.",
}

router = tenant_router(
    ResourceSpec(
        plural="moh-classes",
        service=MohClassService,
        create=MohClassCreate,
        update=MohClassUpdate,
        filters=MohClassFilters,
        singular="music-on-hold class",
    )
)
