"""The tenant's dial plan: which numbers are used by what, and which are free."""
