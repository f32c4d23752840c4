"""What a transaction asks its driver to do: each method of a transaction returns a list of these actions, in order.

- ``Transmit(message)``: hand the message to the transport (a retransmission is just another ``Transmit``).
- ``PassToTU(message)``: give the message to the transaction user (UA core, proxy core).
- ``TimeoutToTU(timer)``: the transaction failed for lack of an answer (Timer B, F or H, RFC 3261 §17).
- ``TransportErrorToTU``: the transport reported a failure while sending (RFC 3261 §17.1.4, §17.2.4).
- ``Terminated``: the transaction has reached Terminated; the driver drops it from its table.
"""

from __future__ import annotations

from dataclasses import dataclass

from centrex.sip.message.model import Request, Response


@dataclass(frozen=True, slots=True)
class Transmit:
    message: Request | Response


@dataclass(frozen=True, slots=True)
class PassToTU:
    message: Request | Response


@dataclass(frozen=True, slots=True)
class TimeoutToTU:
    timer: str


@dataclass(frozen=True, slots=True)
class TransportErrorToTU:
    pass


@dataclass(frozen=True, slots=True)
class Terminated:
    pass


Action = Transmit | PassToTU | TimeoutToTU | TransportErrorToTU | Terminated
