"""Events: the transactional outbox (now), relay, bus and stream (later)."""
