"""SIP edge bans: ``/api/v1/sip/bans`` (platform administrators only)."""
