"""Transaction state machines (RFC 3261 §17, RFC 6026) with an injected clock: timers, retransmissions, matching."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from centrex.sip.message import Request, Response, parse
from centrex.sip.transaction import (
    INVITE_CLIENT_TRANSITIONS,
    INVITE_SERVER_TRANSITIONS,
    Action,
    InviteClientTransaction,
    InviteServerTransaction,
    NonInviteClientTransaction,
    NonInviteServerTransaction,
    PassToTU,
    State,
    Terminated,
    TimeoutToTU,
    TimerConfig,
    Transaction,
    TransactionError,
    TransactionKey,
    TransactionTable,
    Transmit,
    TransportErrorToTU,
    build_ack,
    build_cancel,
    is_reliable,
    new_branch,
)

BRANCH = "z9hG4bK776asdhds"


def request(
    method: str = "INVITE",
    *,
    branch: str = BRANCH,
    sent_by: str = "pc33.atlanta.com",
    cseq: int = 314159,
    transport: str = "UDP",
    extra: str = "",
) -> Request:
    branch_param = f";branch={branch}" if branch else ""
    text = (
        f"{method} sip:bob@biloxi.com SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} {sent_by}{branch_param}\r\n"
        "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKouter\r\n"
        "Route: <sip:p1.example.com;lr>\r\n"
        "Max-Forwards: 70\r\n"
        "To: Bob <sip:bob@biloxi.com>\r\n"
        "From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
        "Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
        f"CSeq: {cseq} {method}\r\n"
        "Timestamp: 54\r\n"
        "Contact: <sip:alice@pc33.atlanta.com>\r\n"
        f"{extra}"
        "Content-Length: 0\r\n\r\n"
    )
    msg = parse(text.encode())
    assert isinstance(msg, Request)
    return msg


def response(req: Request, status: int, reason: str = "X", *, to_tag: str | None = "a6c85cf") -> Response:
    lines = [f"SIP/2.0 {status} {reason}"]
    for h in req.headers:
        if h.key in ("via", "from", "call-id", "cseq"):
            lines.append(f"{h.name}: {h.value}")
        elif h.key == "to":
            lines.append(f"To: {h.value}" + (f";tag={to_tag}" if to_tag and status > 100 else ""))
    msg = parse(("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode())
    assert isinstance(msg, Response)
    return msg


def transmits(actions: Sequence[Action]) -> list[Request | Response]:
    return [a.message for a in actions if isinstance(a, Transmit)]


def run_timers(tx: Transaction, until: float) -> list[tuple[float, list[Action]]]:
    """Tick at every deadline up to ``until``, as a punctual driver would."""
    fired: list[tuple[float, list[Action]]] = []
    while (deadline := tx.next_deadline()) is not None and deadline <= until:
        fired.append((deadline, tx.tick(deadline)))
    return fired


def times_of(fired: list[tuple[float, list[Action]]], kind: type) -> list[float]:
    return [t for t, actions in fired for a in actions if isinstance(a, kind)]


# --- INVITE client (§17.1.1) -----------------------------------------------------------------------------------------


def test_invite_client_retransmits_with_timer_a_until_timer_b() -> None:
    tx = InviteClientTransaction(request())
    assert tx.state is State.CALLING and tx.next_deadline() is None
    assert tx.send_request(0.0) == [Transmit(tx.request)]
    assert tx.next_deadline() == 0.5
    fired = run_timers(tx, 100.0)
    # A: T1, then doubling (no T2 cap for INVITE): 0.5, 1.5, 3.5, 7.5, 15.5, 31.5; B at 64·T1 = 32.
    assert times_of(fired, Transmit) == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert fired[-1] == (32.0, [TimeoutToTU("B"), Terminated()])
    assert tx.state is State.TERMINATED and tx.next_deadline() is None
    assert tx.tick(1000.0) == []


def test_invite_client_provisional_stops_retransmissions_and_timer_b() -> None:
    tx = InviteClientTransaction(request())
    tx.send_request(0.0)
    ringing = response(tx.request, 180, "Ringing")
    assert tx.receive_response(ringing, 0.3) == [PassToTU(ringing)]
    assert tx.state is State.PROCEEDING
    assert tx.next_deadline() is None  # §17.1.1.2: Timer B only runs in Calling
    assert tx.receive_response(ringing, 0.4) == [PassToTU(ringing)]


def test_invite_client_non_2xx_final_is_acked_and_retransmissions_absorbed() -> None:
    invite = request()
    tx = InviteClientTransaction(invite)
    tx.send_request(0.0)
    busy = response(invite, 486, "Busy Here")
    actions = tx.receive_response(busy, 0.4)
    assert tx.state is State.COMPLETED
    assert len(actions) == 2 and actions[1] == PassToTU(busy)
    (ack,) = transmits(actions)
    assert isinstance(ack, Request) and ack.method == "ACK" and ack.uri == invite.uri
    assert ack.headers.get_all("Via") == ["SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds"]
    assert ack.headers.get("To") == busy.headers.get("To") and "tag=a6c85cf" in (ack.headers.get("To") or "")
    assert ack.headers.get("From") == invite.headers.get("From")
    assert ack.headers.get("Call-ID") == invite.headers.get("Call-ID")
    assert ack.headers.get("CSeq") == "314159 ACK"
    assert ack.headers.get_all("Route") == ["<sip:p1.example.com;lr>"]
    # A retransmitted final response: ACK again, nothing to the TU (§17.1.1.2).
    assert tx.receive_response(busy, 2.0) == [Transmit(ack)]
    assert tx.receive_response(response(invite, 180), 2.5) == []
    # Timer D: 32 s after entering Completed.
    assert tx.next_deadline() == pytest.approx(32.4)
    assert tx.tick(32.3) == []
    assert tx.tick(32.4) == [Terminated()]


def test_invite_client_2xx_goes_to_accepted_per_rfc_6026() -> None:
    tx = InviteClientTransaction(request())
    tx.send_request(0.0)
    ok = response(tx.request, 200, "OK")
    assert tx.receive_response(ok, 0.25) == [PassToTU(ok)]
    assert tx.state is State.ACCEPTED
    assert tx.next_deadline() == 32.25  # Timer M = 64·T1
    assert tx.receive_response(ok, 3.0) == [PassToTU(ok)]  # every 2xx reaches the TU, which ACKs it
    assert tx.receive_response(response(tx.request, 486), 3.5) == []
    assert run_timers(tx, 100.0) == [(32.25, [Terminated()])]


def test_invite_client_reliable_has_no_timer_a_and_zero_timer_d() -> None:
    tx = InviteClientTransaction(request(transport="TCP"), reliable=True)
    tx.send_request(10.0)
    assert tx.next_deadline() == 42.0  # only Timer B
    actions = tx.receive_response(response(tx.request, 603, "Decline"), 11.0)
    assert [type(a) for a in actions] == [Transmit, PassToTU, Terminated]
    assert tx.next_deadline() is None


def test_invite_client_reliable_timer_b() -> None:
    tx = InviteClientTransaction(request(), reliable=True)
    tx.send_request(0.0)
    assert run_timers(tx, 100.0) == [(32.0, [TimeoutToTU("B"), Terminated()])]


def test_invite_client_transport_error() -> None:
    tx = InviteClientTransaction(request())
    tx.send_request(0.0)
    assert tx.transport_error(0.1) == [TransportErrorToTU(), Terminated()]
    assert tx.receive_response(response(tx.request, 200), 0.2) == []


def test_configurable_t1() -> None:
    tx = InviteClientTransaction(request(), timers=TimerConfig(t1=0.1, t2=1.0, t4=2.0))
    tx.send_request(0.0)
    fired = run_timers(tx, 100.0)
    assert times_of(fired, Transmit) == pytest.approx([0.1, 0.3, 0.7, 1.5, 3.1, 6.3])
    assert times_of(fired, TimeoutToTU) == pytest.approx([6.4])


def test_late_tick_fires_once_and_reschedules_ahead() -> None:
    tx = InviteClientTransaction(request())
    tx.send_request(0.0)
    actions = tx.tick(10.0)
    assert actions == [Transmit(tx.request)]
    deadline = tx.next_deadline()
    assert deadline is not None and deadline > 10.0


def test_send_request_twice_is_an_error() -> None:
    tx = InviteClientTransaction(request())
    tx.send_request(0.0)
    with pytest.raises(TransactionError):
        tx.send_request(1.0)


def test_invalid_requests_make_no_transaction() -> None:
    with pytest.raises(TransactionError):
        InviteClientTransaction(request("OPTIONS"))
    with pytest.raises(TransactionError):
        NonInviteClientTransaction(request("INVITE"))
    with pytest.raises(TransactionError):
        InviteClientTransaction(request(branch=""))
    bad = request()
    bad.headers.set("CSeq", "nonsense")
    with pytest.raises(TransactionError):
        InviteServerTransaction(bad)


# --- non-INVITE client (§17.1.2) -------------------------------------------------------------------------------------


def test_non_invite_client_timer_e_caps_at_t2_and_timer_f_times_out() -> None:
    tx = NonInviteClientTransaction(request("OPTIONS"))
    assert tx.state is State.TRYING
    tx.send_request(0.0)
    fired = run_timers(tx, 100.0)
    assert times_of(fired, Transmit) == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert fired[-1] == (32.0, [TimeoutToTU("F"), Terminated()])


def test_non_invite_client_proceeding_retransmits_every_t2() -> None:
    tx = NonInviteClientTransaction(request("BYE"))
    tx.send_request(0.0)
    trying = response(tx.request, 100, "Trying")
    assert tx.receive_response(trying, 0.4) == [PassToTU(trying)]
    assert tx.state is State.PROCEEDING
    fired = run_timers(tx, 12.0)
    assert times_of(fired, Transmit) == [0.5, 4.5, 8.5]
    ok = response(tx.request, 200, "OK")
    assert tx.receive_response(ok, 12.0) == [PassToTU(ok)]
    assert tx.state is State.COMPLETED
    assert tx.receive_response(ok, 13.0) == []  # absorbed
    assert tx.next_deadline() == 17.0  # Timer K = T4
    assert run_timers(tx, 100.0) == [(17.0, [Terminated()])]


def test_non_invite_client_reliable() -> None:
    tx = NonInviteClientTransaction(request("REGISTER", transport="TLS"), reliable=True)
    tx.send_request(0.0)
    assert tx.next_deadline() == 32.0  # no Timer E
    ok = response(tx.request, 200, "OK")
    assert tx.receive_response(ok, 1.0) == [PassToTU(ok), Terminated()]  # Timer K is zero


def test_non_invite_client_transport_error() -> None:
    tx = NonInviteClientTransaction(request("OPTIONS"))
    tx.send_request(0.0)
    assert tx.transport_error(0.0) == [TransportErrorToTU(), Terminated()]


# --- INVITE server (§17.2.1) -----------------------------------------------------------------------------------------


def test_invite_server_sends_100_trying_after_200ms() -> None:
    invite = request()
    tx = InviteServerTransaction(invite)
    assert tx.receive_request(invite, 0.0) == [PassToTU(invite)]
    assert tx.state is State.PROCEEDING
    assert tx.next_deadline() == pytest.approx(0.2)
    assert tx.tick(0.1) == []
    (trying,) = transmits(tx.tick(0.2))
    assert isinstance(trying, Response) and trying.status == 100
    for name in ("Via", "From", "To", "Call-ID", "CSeq", "Timestamp"):
        assert trying.headers.get_all(name) == invite.headers.get_all(name)
    assert "Contact" not in trying.headers and "Route" not in trying.headers
    # A retransmitted INVITE gets the latest provisional response again, and is not passed up.
    assert tx.receive_request(invite, 0.5) == [Transmit(trying)]
    assert tx.next_deadline() is None


def test_invite_server_no_100_when_tu_answers_in_time() -> None:
    invite = request()
    tx = InviteServerTransaction(invite)
    tx.receive_request(invite, 0.0)
    ringing = response(invite, 180, "Ringing")
    assert tx.send_response(ringing, 0.1) == [Transmit(ringing)]
    assert run_timers(tx, 10.0) == []
    assert tx.receive_request(invite, 0.5) == [Transmit(ringing)]


def test_invite_server_non_2xx_retransmitted_with_timer_g_until_timer_h() -> None:
    invite = request()
    tx = InviteServerTransaction(invite)
    tx.receive_request(invite, 0.0)
    busy = response(invite, 486, "Busy Here")
    assert tx.send_response(busy, 0.1) == [Transmit(busy)]  # before the 100 (Trying) was due
    assert tx.state is State.COMPLETED
    fired = run_timers(tx, 100.0)
    # G: T1, doubling up to T2: +0.5, +1, +2, +4, +4 …; H at 64·T1 after the response.
    expected = [0.6, 1.6, 3.6, 7.6, 11.6, 15.6, 19.6, 23.6, 27.6, 31.6]
    assert times_of(fired, Transmit) == pytest.approx(expected)
    assert fired[-1] == (pytest.approx(32.1), [TimeoutToTU("H"), Terminated()])


def test_invite_server_retransmitted_invite_gets_final_again() -> None:
    invite = request()
    tx = InviteServerTransaction(invite)
    tx.receive_request(invite, 0.0)
    busy = response(invite, 486, "Busy Here")
    tx.send_response(busy, 0.1)
    assert tx.receive_request(invite, 0.3) == [Transmit(busy)]


def test_invite_server_ack_confirms_then_timer_i() -> None:
    invite = request()
    tx = InviteServerTransaction(invite)
    tx.receive_request(invite, 0.0)
    tx.send_response(response(invite, 404, "Not Found"), 1.0)
    ack = build_ack(invite, response(invite, 404))
    assert tx.receive_request(ack, 1.2) == []  # absorbed: the ACK for a non-2xx stays in the transaction
    assert tx.state is State.CONFIRMED
    assert tx.next_deadline() == pytest.approx(6.2)  # Timer I = T4; Timer G stopped
    assert tx.receive_request(ack, 2.0) == []
    assert tx.receive_request(invite, 2.0) == []
    assert run_timers(tx, 100.0) == [(pytest.approx(6.2), [Terminated()])]


def test_invite_server_reliable_no_timer_g_and_zero_timer_i() -> None:
    invite = request(transport="TCP")
    tx = InviteServerTransaction(invite, reliable=True)
    tx.receive_request(invite, 0.0)
    tx.send_response(response(invite, 480), 0.1)
    assert tx.next_deadline() == pytest.approx(32.1)  # Timer H only
    assert tx.receive_request(build_ack(invite, response(invite, 480)), 0.5) == [Terminated()]


def test_invite_server_reliable_timer_h() -> None:
    invite = request(transport="TCP")
    tx = InviteServerTransaction(invite, reliable=True)
    tx.receive_request(invite, 0.0)
    tx.send_response(response(invite, 480), 0.0)
    assert run_timers(tx, 100.0) == [(32.0, [TimeoutToTU("H"), Terminated()])]


def test_invite_server_2xx_accepted_per_rfc_6026() -> None:
    invite = request()
    tx = InviteServerTransaction(invite)
    tx.receive_request(invite, 0.0)
    ok = response(invite, 200, "OK")
    assert tx.send_response(ok, 0.05) == [Transmit(ok)]
    assert tx.state is State.ACCEPTED
    assert tx.next_deadline() == pytest.approx(32.05)  # Timer L; no 100 Trying any more
    assert tx.receive_request(invite, 0.5) == []  # retransmitted INVITE absorbed, not a new request
    assert tx.send_response(ok, 0.55) == [Transmit(ok)]  # the TU retransmits its 2xx
    ack = request("ACK", cseq=314159)
    assert tx.receive_request(ack, 0.6) == [PassToTU(ack)]
    assert run_timers(tx, 100.0) == [(pytest.approx(32.05), [Terminated()])]


def test_invite_server_transport_error() -> None:
    invite = request()
    tx = InviteServerTransaction(invite)
    tx.receive_request(invite, 0.0)
    tx.send_response(response(invite, 500), 0.0)
    assert tx.transport_error(0.2) == [TransportErrorToTU(), Terminated()]


def test_server_must_start_with_its_request() -> None:
    tx = InviteServerTransaction(request())
    with pytest.raises(TransactionError):
        tx.send_response(response(tx.request, 180), 0.0)
    with pytest.raises(TransactionError):
        tx.receive_request(request("ACK"), 0.0)


# --- non-INVITE server (§17.2.2) -------------------------------------------------------------------------------------


def test_non_invite_server_flow_and_timer_j() -> None:
    bye = request("BYE")
    tx = NonInviteServerTransaction(bye)
    assert tx.receive_request(bye, 0.0) == [PassToTU(bye)]
    assert tx.state is State.TRYING and tx.next_deadline() is None  # no automatic 100 for non-INVITE
    assert tx.receive_request(bye, 0.5) == []  # Trying absorbs retransmissions
    trying = response(bye, 100, "Trying")
    assert tx.send_response(trying, 0.6) == [Transmit(trying)]
    assert tx.state is State.PROCEEDING
    assert tx.receive_request(bye, 1.0) == [Transmit(trying)]
    ok = response(bye, 200, "OK")
    assert tx.send_response(ok, 2.0) == [Transmit(ok)]
    assert tx.state is State.COMPLETED
    assert tx.receive_request(bye, 3.0) == [Transmit(ok)]
    assert tx.send_response(response(bye, 500), 3.5) == []  # a second final response is dropped
    assert tx.next_deadline() == 34.0  # Timer J = 64·T1
    assert run_timers(tx, 100.0) == [(34.0, [Terminated()])]


def test_non_invite_server_reliable_timer_j_zero() -> None:
    reg = request("REGISTER", transport="TCP")
    tx = NonInviteServerTransaction(reg, reliable=True)
    tx.receive_request(reg, 0.0)
    ok = response(reg, 200, "OK")
    assert tx.send_response(ok, 0.1) == [Transmit(ok), Terminated()]


def test_non_invite_server_transport_error() -> None:
    reg = request("REGISTER")
    tx = NonInviteServerTransaction(reg)
    tx.receive_request(reg, 0.0)
    tx.send_response(response(reg, 200), 0.1)
    assert tx.transport_error(0.2) == [TransportErrorToTU(), Terminated()]
    assert tx.receive_request(reg, 0.3) == []


def test_transition_tables_use_only_known_states() -> None:
    for table in (INVITE_CLIENT_TRANSITIONS, INVITE_SERVER_TRANSITIONS):
        for (state, _event), target in table.items():
            assert state is not State.TERMINATED and isinstance(target, State)


# --- matching (§17.1.3, §17.2.3, §9.2) -------------------------------------------------------------------------------


def test_table_matches_responses_by_branch_and_cseq_method() -> None:
    table = TransactionTable()
    invite = request()
    tx = table.new_client(invite, reliable=False)
    cancel_tx = table.new_client(build_cancel(invite), reliable=False)
    assert table.match_response(response(invite, 180)) is tx
    cancel_ok = response(build_cancel(invite), 200)
    assert table.match_response(cancel_ok) is cancel_tx
    assert table.match_response(response(request(branch="z9hG4bKother"), 180)) is None
    garbage = response(invite, 200)
    garbage.headers.remove("Via")
    assert table.match_response(garbage) is None
    with pytest.raises(TransactionError):
        table.new_client(invite, reliable=False)


def test_table_matches_requests_by_branch_sent_by_and_method() -> None:
    table = TransactionTable()
    invite = request()
    tx = table.new_server(invite, reliable=False)
    assert table.match_request(request()) is tx  # a retransmission
    assert table.match_request(request(sent_by="PC33.Atlanta.COM")) is tx  # host compared case-insensitively
    assert table.match_request(request(sent_by="pc33.atlanta.com:5070")) is None  # another sent-by
    assert table.match_request(request(branch="z9hG4bKx")) is None
    assert table.match_request(request("ACK")) is tx  # ACK for a non-2xx matches its INVITE
    assert table.match_request(request("OPTIONS")) is None
    assert table.match_request(request("ACK", branch="z9hG4bKnew")) is None  # ACK for a 2xx: new branch


def test_table_cancel_matches_its_invite() -> None:
    table = TransactionTable()
    invite = request()
    invite_tx = table.new_server(invite, reliable=False)
    cancel = build_cancel(invite)
    assert cancel.headers.get("CSeq") == "314159 CANCEL"
    assert cancel.headers.get_all("Via") == [invite.headers.get_all("Via")[0]]
    assert table.match_request(cancel) is None  # a CANCEL is its own transaction …
    assert table.match_cancel(cancel) is invite_tx  # … that cancels the INVITE one
    cancel_tx = table.new_server(cancel, reliable=False)
    assert table.match_request(cancel) is cancel_tx
    assert table.match_cancel(request("CANCEL", branch="z9hG4bKother")) is None
    assert table.match_cancel(request("BYE")) is None


def test_table_rfc_2543_fallback_matching() -> None:
    table = TransactionTable()
    old = request(branch="")
    tx = table.new_server(old, reliable=False)
    assert tx.key.branch.startswith("rfc2543|")
    assert table.match_request(request(branch="")) is tx
    assert table.match_request(request("ACK", branch="")) is tx
    assert table.match_request(request(branch="", cseq=2)) is None
    assert table.match_request(request(branch="1234")) is None


def test_table_tick_removes_terminated_transactions() -> None:
    table = TransactionTable()
    client = table.new_client(request("OPTIONS"), reliable=False)
    client.send_request(0.0)
    server_req = request("MESSAGE", branch="z9hG4bKsrv")
    server = table.new_server(server_req, reliable=False)
    server.receive_request(server_req, 0.0)
    server.send_response(response(server_req, 200), 0.0)
    assert table.next_deadline() == 0.5
    assert len(table) == 2
    out = table.tick(1.0)
    assert [(tx, actions) for tx, actions in out if tx is client] == [(client, [Transmit(client.request)])]
    out = table.tick(40.0)
    assert len(table) == 0
    assert table.next_deadline() is None


def test_helpers() -> None:
    assert new_branch().startswith("z9hG4bK") and new_branch() != new_branch()
    assert is_reliable("tcp") and is_reliable("WSS") and not is_reliable("UDP")
    key = TransactionKey.server(request(extra=""))
    assert key == TransactionKey(BRANCH, "INVITE", "pc33.atlanta.com")
    spaced = request()
    spaced.headers.set("Via", f"SIP / 2.0 / UDP   pc33.atlanta.com ; branch = {BRANCH}")
    assert TransactionKey.server(spaced) == key


# --- property: nothing after Terminated, deadlines never go backwards ------------------------------------------------

_CLIENT_EVENTS = st.one_of(
    st.tuples(st.just("tick"), st.none()),
    st.tuples(st.just("response"), st.sampled_from([100, 180, 183, 200, 202, 302, 486, 503])),
    st.tuples(st.just("transport_error"), st.none()),
)
_SERVER_EVENTS = st.one_of(
    st.tuples(st.just("tick"), st.none()),
    st.tuples(st.just("request"), st.none()),
    st.tuples(st.just("ack"), st.none()),
    st.tuples(st.just("send_response"), st.sampled_from([100, 180, 200, 202, 404, 486, 500])),
    st.tuples(st.just("transport_error"), st.none()),
)
_STEP = st.one_of(st.floats(0, 5), st.floats(0, 40), st.just(0.0), st.just("deadline"))


def _apply(tx: Transaction, event: str, arg: int | None, now: float) -> list[Action]:
    if event == "tick":
        return tx.tick(now)
    if event == "transport_error":
        return tx.transport_error(now)
    if isinstance(tx, InviteClientTransaction | NonInviteClientTransaction):
        assert arg is not None
        return tx.receive_response(response(tx.request, arg), now)
    assert isinstance(tx, InviteServerTransaction | NonInviteServerTransaction)
    if event == "request":
        return tx.receive_request(tx.request, now)
    if event == "ack":
        if isinstance(tx, NonInviteServerTransaction):
            return tx.receive_request(tx.request, now)
        return tx.receive_request(request("ACK"), now)
    assert arg is not None
    return tx.send_response(response(tx.request, arg), now)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    kind=st.sampled_from(["ict", "nict", "ist", "nist"]),
    reliable=st.booleans(),
    client_events=st.lists(st.tuples(_STEP, _CLIENT_EVENTS), max_size=25),
    server_events=st.lists(st.tuples(_STEP, _SERVER_EVENTS), max_size=25),
)
def test_property_no_transmit_after_terminated_and_monotonic_deadlines(
    kind: str,
    reliable: bool,
    client_events: list[tuple[float | str, tuple[str, int | None]]],
    server_events: list[tuple[float | str, tuple[str, int | None]]],
) -> None:
    tx: Transaction
    now = 0.0
    if kind in ("ict", "nict"):
        req = request("INVITE" if kind == "ict" else "OPTIONS")
        client: InviteClientTransaction | NonInviteClientTransaction
        if kind == "ict":
            client = InviteClientTransaction(req, reliable=reliable)
        else:
            client = NonInviteClientTransaction(req, reliable=reliable)
        tx = client
        first = client.send_request(now)
        events = client_events
    else:
        req = request("INVITE" if kind == "ist" else "BYE")
        server: InviteServerTransaction | NonInviteServerTransaction
        if kind == "ist":
            server = InviteServerTransaction(req, reliable=reliable)
        else:
            server = NonInviteServerTransaction(req, reliable=reliable)
        tx = server
        first = server.receive_request(req, now)
        events = server_events
    assert Terminated() not in first
    terminated = False
    last_deadline = tx.next_deadline()
    for step, (event, arg) in events:
        if step == "deadline":
            deadline = tx.next_deadline()
            now = deadline if deadline is not None else now + 1.0
        else:
            assert isinstance(step, float)
            now += step
        actions = _apply(tx, event, arg, now)
        if terminated:
            assert actions == [], "a terminated transaction does nothing"
        else:
            if Terminated() in actions:
                assert actions.count(Terminated()) == 1
                assert actions[-1] == Terminated(), "nothing follows Terminated"
                terminated = True
        assert tx.terminated == terminated
        deadline = tx.next_deadline()
        if terminated:
            assert deadline is None
        elif deadline is not None:
            assert deadline > now, "a due timer was left unfired"
            if last_deadline is not None:
                assert deadline >= last_deadline, "deadlines never go backwards"
            last_deadline = deadline


_HOSTILE = st.text(alphabet=st.sampled_from(list(' \t;,=<>"\\:/[]@z9hG4bK²٣SIPUDP2.0abc')), max_size=40)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(via=_HOSTILE, cseq=_HOSTILE, from_=_HOSTILE)
def test_hostile_header_values_raise_only_transaction_error(via: str, cseq: str, from_: str) -> None:
    req = request()
    req.headers.set("Via", via)
    req.headers.set("CSeq", cseq)
    req.headers.set("From", from_)
    for make in (TransactionKey.server, TransactionKey.client):
        with contextlib.suppress(TransactionError):
            make(req)
    table = TransactionTable()
    assert table.match_request(req) is None
    assert table.match_cancel(req) is None


def test_client_and_server_tables_talk_over_the_wire() -> None:
    """An INVITE rejected with 486 over (simulated) UDP: both sides driven through bytes and their tables."""
    uac, uas = TransactionTable(), TransactionTable()
    client = uac.new_client(request(branch=new_branch()), reliable=False)
    (wire,) = transmits(client.send_request(0.0))
    incoming = parse(bytes(wire))
    assert isinstance(incoming, Request) and uas.match_request(incoming) is None
    server = uas.new_server(incoming, reliable=False)
    assert server.receive_request(incoming, 0.01) == [PassToTU(incoming)]
    (busy,) = transmits(server.send_response(response(incoming, 486, "Busy Here"), 0.05))
    busy_in = parse(bytes(busy))
    assert isinstance(busy_in, Response)
    matched = uac.match_response(busy_in)
    assert matched is client
    (ack,) = transmits(client.receive_response(busy_in, 0.06))
    ack_in = parse(bytes(ack))
    assert isinstance(ack_in, Request)
    assert uas.match_request(ack_in) is server
    assert server.receive_request(ack_in, 0.07) == []
    assert server.state is State.CONFIRMED
    uac.tick(100.0)
    uas.tick(100.0)
    assert len(uac) == 0 and len(uas) == 0
