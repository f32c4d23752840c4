"""Extension queries."""

from __future__ import annotations

from centrex.db.models.extension import Extension
from centrex.resources.common import TenantRepository


class ExtensionRepository(TenantRepository[Extension]):
    model = Extension
    sortable = {"number": Extension.number, "name": Extension.name}
    default_sort = "number"
