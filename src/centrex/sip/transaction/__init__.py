"""SIP transactions (RFC 3261 §17, RFC 6026), sans-I/O: each transaction takes events with the current time
(``send_request``, ``receive_response``, ``receive_request``, ``send_response``, ``transport_error``, ``tick``) and
returns actions (``Transmit``, ``PassToTU``, ``TimeoutToTU``, ``TransportErrorToTU``, ``Terminated``);
``next_deadline()`` says when to call ``tick`` next. ``TransactionTable`` matches messages to transactions.

Errors: ``TransactionError`` (a request that cannot make a transaction, or a TU call out of order).
"""

from centrex.sip.transaction.actions import Action, PassToTU, Terminated, TimeoutToTU, Transmit, TransportErrorToTU
from centrex.sip.transaction.base import State, Transaction, TransactionError, TransactionKey, new_branch
from centrex.sip.transaction.client import (
    INVITE_CLIENT_TRANSITIONS,
    NON_INVITE_CLIENT_TRANSITIONS,
    ClientTransaction,
    InviteClientTransaction,
    NonInviteClientTransaction,
    build_ack,
    build_cancel,
)
from centrex.sip.transaction.server import (
    INVITE_SERVER_TRANSITIONS,
    NON_INVITE_SERVER_TRANSITIONS,
    InviteServerTransaction,
    NonInviteServerTransaction,
    ServerTransaction,
    make_response,
)
from centrex.sip.transaction.table import TransactionTable, is_reliable
from centrex.sip.transaction.timers import DEFAULT_TIMERS, TimerConfig

__all__ = [
    "DEFAULT_TIMERS",
    "INVITE_CLIENT_TRANSITIONS",
    "INVITE_SERVER_TRANSITIONS",
    "NON_INVITE_CLIENT_TRANSITIONS",
    "NON_INVITE_SERVER_TRANSITIONS",
    "Action",
    "ClientTransaction",
    "InviteClientTransaction",
    "InviteServerTransaction",
    "NonInviteClientTransaction",
    "NonInviteServerTransaction",
    "PassToTU",
    "ServerTransaction",
    "State",
    "Terminated",
    "TimeoutToTU",
    "TimerConfig",
    "Transaction",
    "TransactionError",
    "TransactionKey",
    "TransactionTable",
    "Transmit",
    "TransportErrorToTU",
    "build_ack",
    "build_cancel",
    "is_reliable",
    "make_response",
    "new_branch",
]
