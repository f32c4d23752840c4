"""Resource slices: one package per resource (router, schemas, service, repository)."""
