"""The back-to-back user agent for calls between extensions (docs/calls.md): an authenticated INVITE from an
extension is resolved by the call-flow resolver and, for a ``ring_extension`` step, placed as a new call to the
callee's registered contact; signalling is relayed between the two legs, and the media is anchored through the
engine's RTP relay (``media``: every SDP rewritten to the relay) unless the relay is off (SDP passed through)."""

from centrex.engine.b2bua.core import B2bua
from centrex.engine.b2bua.wire import Wire

__all__ = ["B2bua", "Wire"]
