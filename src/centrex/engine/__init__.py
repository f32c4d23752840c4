"""The SIP engine: the registrar (``registrar.Registrar``) and the ``SipServer`` that puts it on the wire
(``server.SipServer``). Uses the sans-I/O core in ``centrex.sip`` and the database through narrow queries."""

from centrex.engine.registrar import Registrar, RegistrarConfig
from centrex.engine.server import SipServer

__all__ = ["Registrar", "RegistrarConfig", "SipServer"]
