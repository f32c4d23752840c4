"""Timer values of RFC 3261 §17 (Table 4 in Appendix A) and the RFC 6026 additions (Timers L and M).

``T1`` is the round-trip estimate (500 ms), ``T2`` the retransmission cap for non-INVITE requests and INVITE
responses (4 s), ``T4`` the time a message may stay in the network (5 s). On a reliable transport (TCP, TLS, SCTP,
WebSocket) the retransmission timers A, E and G are not started and the wait timers D, I, J and K are zero (§17).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TimerConfig:
    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    trying_delay: float = 0.2  # §17.2.1: a 100 (Trying) unless the TU answers within 200 ms
    timer_d: float = 32.0  # §17.1.1.2: "at least 32 seconds" on unreliable transports

    def __post_init__(self) -> None:
        if not (0 < self.t1 <= self.t2) or self.t4 <= 0 or self.trying_delay < 0 or self.timer_d < 0:
            raise ValueError("timers must be positive and T1 <= T2")

    @property
    def transaction_timeout(self) -> float:
        """64·T1: Timers B, F, H, J, L and M."""
        return 64 * self.t1


DEFAULT_TIMERS = TimerConfig()
