"""Client collections for media files, music-on-hold classes, phonebooks and contacts."""

from __future__ import annotations

from centrex.client.resources import TenantCollection


class Media(TenantCollection):
    plural = "media"


class MohClasses(TenantCollection):
    plural = "moh-classes"


class Phonebooks(TenantCollection):
    plural = "phonebooks"


class Contacts(TenantCollection):
    plural = "contacts"
