"""The back-to-back user agent (docs/calls.md): INVITEs from extensions (digest-authenticated) and from trunks
(by address, to the tenant's numbers) are resolved by the call-flow resolver and rung by plans (``plan``: forking,
ring groups, trunk failover, forwarding fallbacks); signalling is relayed between the legs (``core``, ``call``),
trunks are found and reached through ``trunks``, and the media is anchored through ``centrex.media.anchor`` (the
built-in relay or rtpengine) unless anchoring is off (SDP passed through)."""

from centrex.engine.b2bua.core import B2bua
from centrex.engine.b2bua.wire import Wire

__all__ = ["B2bua", "Wire"]
