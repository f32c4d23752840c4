"""A tenant's events as recorded in the outbox, read-only."""
