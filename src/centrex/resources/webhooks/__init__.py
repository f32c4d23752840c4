"""Webhooks: tenant and system webhook subscriptions, their delivery log, replay and test deliveries."""
