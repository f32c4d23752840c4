"""Caller-ID blocks: inbound callers (an exact number or a pattern) that are rejected, hung up on or sent to
voicemail."""
