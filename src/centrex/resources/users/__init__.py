"""Users of a tenant: administrators and end users who log in."""
