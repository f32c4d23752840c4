"""Centrex: a multi-tenant, API-first hosted PBX and voice/messaging carrier platform."""

__version__ = "0.1.0"
