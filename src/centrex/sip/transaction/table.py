"""The transaction table: which transaction an incoming message belongs to (RFC 3261 §17.1.3, §17.2.3), the CANCEL
→ INVITE lookup (§9.2), and one ``tick``/``next_deadline`` over every transaction.

A response with no client transaction and a request with no server transaction come back as ``None``: the caller
decides (a request starts a new server transaction; a stray response is dropped, except a 2xx to INVITE that a UA
core may still take, RFC 6026 §7.3). Terminated transactions leave the table when ``tick`` or ``forget`` sees them.
"""

from __future__ import annotations

from centrex.sip.message.model import Request, Response
from centrex.sip.transaction.actions import Action
from centrex.sip.transaction.base import Transaction, TransactionError, TransactionKey
from centrex.sip.transaction.client import ClientTransaction, InviteClientTransaction, NonInviteClientTransaction
from centrex.sip.transaction.server import InviteServerTransaction, NonInviteServerTransaction, ServerTransaction
from centrex.sip.transaction.timers import DEFAULT_TIMERS, TimerConfig

_RELIABLE = frozenset({"TCP", "TLS", "SCTP", "TLS-SCTP", "WS", "WSS"})


def is_reliable(transport: str) -> bool:
    """Whether a Via transport token names a reliable transport (§17: everything but UDP and DTLS here)."""
    return transport.upper() in _RELIABLE


class TransactionTable:
    """Client and server transactions by key."""

    def __init__(self, timers: TimerConfig = DEFAULT_TIMERS) -> None:
        self.timers = timers
        self.clients: dict[TransactionKey, ClientTransaction] = {}
        self.servers: dict[TransactionKey, ServerTransaction] = {}

    def __len__(self) -> int:
        return len(self.clients) + len(self.servers)

    # -- creation --------------------------------------------------------------------------------------------------

    def new_client(self, request: Request, *, reliable: bool) -> ClientTransaction:
        """A client transaction for ``request`` (INVITE or not), registered under its key."""
        tx: ClientTransaction
        if request.method == "INVITE":
            tx = InviteClientTransaction(request, reliable=reliable, timers=self.timers)
        else:
            tx = NonInviteClientTransaction(request, reliable=reliable, timers=self.timers)
        if tx.key in self.clients:
            raise TransactionError(f"a client transaction {tx.key} exists already")
        self.clients[tx.key] = tx
        return tx

    def new_server(self, request: Request, *, reliable: bool) -> ServerTransaction:
        """A server transaction for a request that matched none (not for an ACK: that goes to the TU)."""
        tx: ServerTransaction
        if request.method == "INVITE":
            tx = InviteServerTransaction(request, reliable=reliable, timers=self.timers)
        else:
            tx = NonInviteServerTransaction(request, reliable=reliable, timers=self.timers)
        if tx.key in self.servers:
            raise TransactionError(f"a server transaction {tx.key} exists already")
        self.servers[tx.key] = tx
        return tx

    # -- matching --------------------------------------------------------------------------------------------------

    def match_response(self, response: Response) -> ClientTransaction | None:
        """§17.1.3: the top Via branch and the CSeq method of the response equal those of the request sent."""
        try:
            key = TransactionKey.client(response)
        except TransactionError:
            return None
        return self.clients.get(key)

    def match_request(self, request: Request) -> ServerTransaction | None:
        """§17.2.3: branch, sent-by and method of the top Via (an ACK matches its INVITE; a CANCEL matches only an
        earlier CANCEL, see ``match_cancel``). An ACK for a 2xx carries a new branch and so matches nothing."""
        try:
            key = TransactionKey.server(request)
        except TransactionError:
            return None
        return self.servers.get(key)

    def match_cancel(self, cancel: Request) -> InviteServerTransaction | None:
        """§9.2: the INVITE server transaction a CANCEL cancels (same key, method INVITE)."""
        if cancel.method != "CANCEL":
            return None
        try:
            key = TransactionKey.server(cancel)
        except TransactionError:
            return None
        found = self.servers.get(TransactionKey(key.branch, "INVITE", key.sent_by))
        return found if isinstance(found, InviteServerTransaction) else None

    # -- time ------------------------------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        deadlines = [d for tx in self._all() if (d := tx.next_deadline()) is not None]
        return min(deadlines, default=None)

    def tick(self, now: float) -> list[tuple[Transaction, list[Action]]]:
        """Fire every due timer; terminated transactions are removed. Returns the non-empty action lists."""
        out: list[tuple[Transaction, list[Action]]] = []
        for tx in self._all():
            deadline = tx.next_deadline()
            if deadline is not None and deadline <= now:
                actions = tx.tick(now)
                if actions:
                    out.append((tx, actions))
        self.forget_terminated()
        return out

    def forget(self, tx: Transaction) -> None:
        if isinstance(tx, ClientTransaction):
            if self.clients.get(tx.key) is tx:
                del self.clients[tx.key]
        elif self.servers.get(tx.key) is tx:
            del self.servers[tx.key]

    def forget_terminated(self) -> None:
        for tx in [tx for tx in self._all() if tx.terminated]:
            self.forget(tx)

    def _all(self) -> list[Transaction]:
        return [*self.clients.values(), *self.servers.values()]
