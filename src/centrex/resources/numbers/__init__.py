"""Phone numbers (DIDs) assigned to tenants."""
