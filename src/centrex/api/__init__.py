"""The native HTTP API's machinery: errors, auth, the unit-of-work route, pagination, idempotency, OpenAPI."""
