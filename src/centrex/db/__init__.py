"""Persistence: declarative models, engines and sessions, change tracking (audit, outbox, references), migrations."""
