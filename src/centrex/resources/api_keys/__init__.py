"""API keys of a tenant: issue (shown once), list, rotate with overlap, revoke, delete."""
