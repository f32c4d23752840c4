"""Inbound routes: a DID (or a DID pattern, optionally with a caller-ID pattern) → a destination."""
