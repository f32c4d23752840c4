"""API key queries."""

from __future__ import annotations

from centrex.db.models.api_key import ApiKey
from centrex.resources.common import TenantRepository


class ApiKeyRepository(TenantRepository[ApiKey]):
    model = ApiKey
    sortable = {"name": ApiKey.name}
    default_sort = "id"
