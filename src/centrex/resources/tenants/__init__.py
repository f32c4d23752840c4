"""Tenants: the platform → reseller → tenant tree, limits, templates, suspension."""
