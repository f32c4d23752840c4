"""The executable call flow: a per-tenant snapshot of the routing configuration, the resolver that the engine and
``POST /routing/resolve`` run over it, the save-time loop guard, and the invalidated-on-change snapshot cache.

``snapshot`` and ``resolver`` are pure (no I/O); ``loader`` reads the database; ``cache`` keeps snapshots.
"""
