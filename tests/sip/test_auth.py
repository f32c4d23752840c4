"""Digest authentication: RFC worked examples, header syntax, client → server round trips, nonces and replays."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from centrex.sip.auth import (
    AuthError,
    Challenge,
    Credentials,
    DigestAuthenticator,
    NonceCountTracker,
    NonceManager,
    NonceState,
    Outcome,
    authorize,
    choose_challenge,
    compute_ha1,
    compute_response,
    hash_username,
    parse_params,
)

HYPO = settings(max_examples=300, deadline=None, derandomize=True)
SECRET = b"0123456789abcdef0123456789abcdef"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- RFC worked examples -----------------------------------------------------------------------------------------

RFC2617_CHALLENGE = """Digest
                 realm="testrealm@host.com",
                 qop="auth,auth-int",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41\""""

RFC2617_AUTHORIZATION = """Digest username="Mufasa",
                 realm="testrealm@host.com",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 uri="/dir/index.html",
                 qop=auth,
                 nc=00000001,
                 cnonce="0a4f113b",
                 response="6629fae49393a05397450978507c4ef1",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41\""""


def test_rfc2617_section_3_5_example() -> None:
    challenge = Challenge.parse(RFC2617_CHALLENGE)
    assert challenge.realm == "testrealm@host.com"
    assert challenge.qop == ("auth", "auth-int")
    assert challenge.effective_algorithm == "MD5"
    creds = authorize(
        challenge, username="Mufasa", password="Circle Of Life", method="GET", uri="/dir/index.html", cnonce="0a4f113b"
    )
    assert creds.response == "6629fae49393a05397450978507c4ef1"
    assert creds.nc == 1 and creds.qop == "auth" and creds.opaque == "5ccc069c403ebaf9f0171e9517f40e41"
    assert Credentials.parse(RFC2617_AUTHORIZATION) == creds


RFC7616_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
RFC7616_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_section_3_9_1_examples(algorithm: str, expected: str) -> None:
    challenge = Challenge.parse(
        f'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm}, '
        f'nonce="{RFC7616_NONCE}", opaque="{RFC7616_OPAQUE}"'
    )
    creds = authorize(
        challenge,
        username="Mufasa",
        password="Circle of Life",
        method="GET",
        uri="/dir/index.html",
        cnonce=RFC7616_CNONCE,
    )
    assert creds.response == expected
    text = str(creds)
    assert f"algorithm={algorithm}" in text and "qop=auth," in text and "nc=00000001" in text
    assert Credentials.parse(text) == creds


def test_rfc2069_response_without_qop() -> None:
    # RFC 2069 §2.4 example: response = H(H(A1):nonce:H(A2)); A1 and A2 as in RFC 2617 with password "CircleOfLife"
    challenge = Challenge.parse('Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093"')
    creds = authorize(challenge, username="Mufasa", password="CircleOfLife", method="GET", uri="/dir/index.html")
    assert creds.response == "1949323746fe6a43ef61f9606e7febea"
    assert creds.qop is None and creds.nc is None and creds.cnonce is None
    assert "qop" not in str(creds) and "nc=" not in str(creds)


def test_sess_and_sha512_256_and_auth_int_agree_on_both_sides() -> None:
    ha1 = compute_ha1("alice", "pbx", "pw", "SHA-512-256")
    for alg in ("MD5-sess", "SHA-256-sess", "SHA-512-256", "SHA-512-256-sess"):
        ch = Challenge(realm="pbx", nonce="abc", algorithm=alg, qop=("auth-int",))
        creds = authorize(ch, username="alice", password="pw", method="INVITE", uri="sip:bob@pbx", body=b"v=0\r\n")
        assert creds.qop == "auth-int"
        stored = compute_ha1("alice", "pbx", "pw", alg)
        again = compute_response(
            ha1=stored,
            algorithm=alg,
            nonce="abc",
            method="INVITE",
            uri="sip:bob@pbx",
            qop="auth-int",
            nc=1,
            cnonce=creds.cnonce,
            body=b"v=0\r\n",
        )
        assert again == creds.response
    assert len(ha1) == 64


# --- header syntax -------------------------------------------------------------------------------------------------


def test_quoted_string_escapes_and_case_insensitive_names() -> None:
    ch = Challenge.parse(r'DIGEST REALM="a \"quoted\" realm\\x", NONCE=abc,,  Stale=TRUE, algorithm=sha-256')
    assert ch.realm == 'a "quoted" realm\\x'
    assert ch.nonce == "abc" and ch.stale is True and ch.algorithm == "SHA-256"
    assert Challenge.parse(str(ch)) == ch
    assert str(ch).startswith("Digest realm=")


def test_unknown_parameters_are_kept() -> None:
    ch = Challenge.parse('Digest realm="r", nonce="n", foo=bar, baz="q x"')
    assert ch.extra == [("foo", "bar"), ("baz", "q x")]
    assert Challenge.parse(str(ch)) == ch


def test_serialisation_quotes_per_rfc7616() -> None:
    creds = authorize(
        Challenge(realm="pbx", nonce="n1", algorithm="SHA-256", qop=("auth",), opaque="op"),
        username="1001",
        password="x",
        method="REGISTER",
        uri="sip:acme.example",
        cnonce="c1",
        nc=2,
    )
    text = str(creds)
    assert 'username="1001"' in text and 'uri="sip:acme.example"' in text and 'cnonce="c1"' in text
    assert "algorithm=SHA-256" in text and "qop=auth" in text and "nc=00000002" in text
    ch = str(Challenge(realm="pbx", nonce="n", algorithm="MD5", qop=("auth",), stale=True))
    assert ch == 'Digest realm="pbx", nonce="n", stale=true, algorithm=MD5, qop="auth"'


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Basic realm=x",
        'Digest realm="unterminated',
        'Digest realm="r" nonce="n"',  # missing comma
        'Digest realm="r", nonce',
        'Digest realm="r", realm="s", nonce="n"',  # repeated
        'Digest nonce="n"',  # no realm
        'Digest realm="r", nonce="n", algorithm=ROT13',
        'Digest realm="r", nonce="n", stale=maybe',
        'Digest realm="r", nonce="n", qop=auth, =x',
        'Digest realm="r", nonce="n\\',
        'Digest, realm="r"',
    ],
)
def test_malformed_challenges(value: str) -> None:
    with pytest.raises(AuthError):
        Challenge.parse(value)


@pytest.mark.parametrize(
    "value",
    [
        'Digest username="a", realm="r", nonce="n", uri="u"',  # no response
        'Digest username="a", realm="r", nonce="n", uri="u", response="x", qop=auth',  # qop without nc/cnonce
        'Digest username="a", realm="r", nonce="n", uri="u", response="x", qop=auth, nc=1, cnonce="c"',  # nc 1 digit
        'Digest username="a", realm="r", nonce="n", uri="u", response="x", qop=auth, nc=0000000g, cnonce="c"',
    ],
)
def test_malformed_credentials(value: str) -> None:
    with pytest.raises(AuthError):
        Credentials.parse(value)


@HYPO
@given(st.text(max_size=200))
def test_arbitrary_text_parses_or_raises_auth_error(text: str) -> None:
    for parser in (Challenge.parse, Credentials.parse):
        with contextlib.suppress(AuthError):
            parser(text)
    with contextlib.suppress(AuthError):
        parse_params(text)


_param_value = st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=20)


@HYPO
@given(st.text(alphabet='Digest realm=nonce,"\\ qop=auth uri response username nc=00000001 cnonce'))
def test_digest_shaped_text_parses_or_raises_auth_error(text: str) -> None:
    for parser in (Challenge.parse, Credentials.parse):
        with contextlib.suppress(AuthError):
            parser(text)


@HYPO
@given(realm=_param_value, nonce=_param_value, opaque=st.none() | _param_value, stale=st.booleans())
def test_challenge_round_trip(realm: str, nonce: str, opaque: str | None, stale: bool) -> None:
    ch = Challenge(realm=realm, nonce=nonce, opaque=opaque, stale=stale, algorithm="SHA-256", qop=("auth",))
    assert Challenge.parse(str(ch)) == ch


@HYPO
@given(user=_param_value, uri=_param_value, cnonce=_param_value, nc=st.integers(1, 2**32 - 1))
def test_credentials_round_trip(user: str, uri: str, cnonce: str, nc: int) -> None:
    creds = Credentials(user, "r", "n", uri, "0" * 32, "MD5", "auth", cnonce, nc, None)
    assert Credentials.parse(str(creds)) == creds


# --- nonces ----------------------------------------------------------------------------------------------------


def test_nonce_valid_stale_invalid() -> None:
    clock = Clock()
    nm = NonceManager(SECRET, lifetime=60, clock=clock)
    nonce = nm.issue("acme", "192.0.2.1")
    assert nm.check(nonce, clock.now, realm="acme", source="192.0.2.1") is NonceState.VALID
    assert nm.check(nonce, clock.now + 59, realm="acme", source="192.0.2.1") is NonceState.VALID
    assert nm.check(nonce, clock.now + 61, realm="acme", source="192.0.2.1") is NonceState.STALE
    assert nm.check(nonce, clock.now, realm="other", source="192.0.2.1") is NonceState.INVALID
    assert nm.check(nonce, clock.now, realm="acme", source="192.0.2.2") is NonceState.INVALID
    assert nm.check(nonce, clock.now - 60, realm="acme", source="192.0.2.1") is NonceState.INVALID  # future


def test_nonce_forgeries_are_invalid() -> None:
    clock = Clock()
    nm = NonceManager(SECRET, lifetime=60, clock=clock)
    nonce = nm.issue("acme")
    stamp, salt, mac = nonce.split(".")
    later = format(int(stamp, 16) + 100_000, "x")  # try to extend its life
    other = NonceManager(b"another secret of 32 bytes......", lifetime=60, clock=clock).issue("acme")
    for forged in (
        f"{later}.{salt}.{mac}",
        f"{stamp}.{salt}x.{mac}",
        other,
        "",
        "abc",
        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
    ):
        assert nm.check(forged, clock.now, realm="acme") is NonceState.INVALID
    assert len({nm.issue("acme") for _ in range(50)}) == 50  # unique even within one millisecond


def test_secret_rotation_keeps_recent_nonces_valid() -> None:
    clock = Clock()
    old = NonceManager(b"old secret, 16+ bytes", clock=clock).issue("acme")
    nm = NonceManager(b"new secret, 16+ bytes", clock=clock, previous_secrets=[b"old secret, 16+ bytes"])
    assert nm.check(old, realm="acme") is NonceState.VALID


def test_nonce_count_tracker_is_bounded_and_never_opens_a_replay_window() -> None:
    clock = Clock()
    tracker = NonceCountTracker(max_entries=3, lifetime=60, clock=clock)
    t = clock.now
    assert tracker.accept("a", 1, issued_at=t)
    assert not tracker.accept("a", 1, issued_at=t)  # replay
    assert tracker.accept("a", 3, issued_at=t)  # gaps are fine (requests may be lost)
    assert not tracker.accept("a", 2, issued_at=t)
    for i, n in enumerate("bcd"):
        assert tracker.accept(n, 1, issued_at=t + 1 + i)
    assert len(tracker) == 3  # "a" evicted
    assert not tracker.accept("a", 4, issued_at=t)  # history lost → refused (client gets stale=true)
    assert tracker.accept("e", 1, issued_at=t + 10)  # newer nonces are fine
    clock.now += 120  # everything expired: entries dropped
    assert tracker.accept("f", 1, issued_at=clock.now)
    assert len(tracker) == 1


# --- SIP flavour: REGISTER round trip client → server ------------------------------------------------------------


def make_server(clock: Clock, **kw: object) -> DigestAuthenticator:
    nonces = NonceManager(SECRET, lifetime=300, clock=clock)
    return DigestAuthenticator("acme.example", nonces, NonceCountTracker(clock=clock), **kw)  # type: ignore[arg-type]


def register(server: DigestAuthenticator, password: str = "s3cret", **kw: object) -> tuple[Credentials, str]:
    header = str(server.challenges()[0])  # as sent in WWW-Authenticate
    challenge = Challenge.parse(header)
    creds = authorize(challenge, username="1001", password=password, method="REGISTER", uri="sip:acme.example", **kw)  # type: ignore[arg-type]
    return Credentials.parse(str(creds)), compute_ha1("1001", "acme.example", "s3cret", creds.effective_algorithm)


def test_register_round_trip_sha256_and_md5() -> None:
    clock = Clock()
    server = make_server(clock)
    challenges = server.challenges()
    assert [c.algorithm for c in challenges] == ["SHA-256", "MD5"]
    assert choose_challenge(reversed(challenges)).algorithm == "SHA-256"
    for i in range(len(challenges)):
        ch = server.challenges()[i]  # a fresh nonce per attempt
        creds = authorize(
            Challenge.parse(str(ch)), username="1001", password="s3cret", method="REGISTER", uri="sip:acme.example"
        )
        parsed = Credentials.parse(str(creds))
        ha1 = compute_ha1("1001", "acme.example", "s3cret", parsed.effective_algorithm)
        verdict = server.verify(parsed, ha1=ha1, method="REGISTER", request_uri="sip:acme.example")
        assert verdict.ok, verdict
        # the next request on the same nonce with nc=2 is fine too
        creds2 = authorize(ch, username="1001", ha1=ha1, method="REGISTER", uri="sip:acme.example", nc=2)
        assert server.verify(creds2, ha1=ha1, method="REGISTER").ok


def test_lone_md5_challenge_for_old_phones_and_rfc2069_client() -> None:
    clock = Clock()
    server = make_server(clock, algorithms=("MD5",))
    (challenge,) = server.challenges()
    assert "algorithm" not in str(challenge)
    old = Challenge(realm=challenge.realm, nonce=challenge.nonce)  # an RFC 2069 client ignores qop
    creds = authorize(old, username="1001", password="s3cret", method="REGISTER", uri="sip:acme.example")
    assert creds.qop is None
    ha1 = compute_ha1("1001", "acme.example", "s3cret")
    assert server.verify(creds, ha1=ha1, method="REGISTER").ok
    strict = make_server(clock, algorithms=("MD5",), allow_rfc2069=False)
    assert strict.verify(creds, ha1=ha1, method="REGISTER").outcome is Outcome.INVALID


def test_wrong_password_fails() -> None:
    server = make_server(Clock())
    creds, ha1 = register(server, password="guess")
    verdict = server.verify(creds, ha1=ha1, method="REGISTER")
    assert verdict.outcome is Outcome.FAILED and not verdict.stale
    assert server.verify(creds, ha1=None, method="REGISTER").outcome is Outcome.FAILED  # unknown user


def test_wrong_method_or_uri_fails() -> None:
    server = make_server(Clock())
    creds, ha1 = register(server)
    assert server.verify(creds, ha1=ha1, method="INVITE").outcome is Outcome.FAILED
    assert server.verify(creds, ha1=ha1, method="REGISTER", request_uri="sip:evil").outcome is Outcome.INVALID


def test_wrong_realm_is_invalid() -> None:
    clock = Clock()
    server = make_server(clock)
    ch = server.challenges()[0]
    ch.realm = "other.example"
    creds = authorize(ch, username="1001", password="s3cret", method="REGISTER", uri="sip:acme.example")
    ha1 = compute_ha1("1001", "other.example", "s3cret", "SHA-256")
    assert server.verify(creds, ha1=ha1, method="REGISTER").outcome is Outcome.INVALID


def test_expired_nonce_is_stale_and_rechallenged_with_stale_true() -> None:
    clock = Clock()
    server = make_server(clock)
    creds, ha1 = register(server)
    clock.now += 301
    verdict = server.verify(creds, ha1=ha1, method="REGISTER")
    assert verdict.outcome is Outcome.STALE and verdict.stale
    fresh = server.challenges(stale=verdict.stale)
    assert all(c.stale for c in fresh) and "stale=true" in str(fresh[0])
    # an expired nonce with a wrong password is just a failure (stale=true promises the credentials were right)
    bad, _ = register(server, password="guess")
    clock.now += 301
    assert server.verify(bad, ha1=ha1, method="REGISTER").outcome is Outcome.FAILED


def test_forged_nonce_is_invalid() -> None:
    server = make_server(Clock())
    ch = Challenge(realm="acme.example", nonce="18c0.AAAAAAAA.forgedforgedforgedforgedforg", algorithm="SHA-256")
    ch.qop = ("auth",)
    creds = authorize(ch, username="1001", password="s3cret", method="REGISTER", uri="sip:acme.example")
    ha1 = compute_ha1("1001", "acme.example", "s3cret", "SHA-256")
    assert server.verify(creds, ha1=ha1, method="REGISTER").outcome is Outcome.INVALID


def test_replayed_nonce_count_is_refused() -> None:
    server = make_server(Clock())
    creds, ha1 = register(server)
    assert server.verify(creds, ha1=ha1, method="REGISTER").ok
    verdict = server.verify(creds, ha1=ha1, method="REGISTER")
    assert verdict.outcome is Outcome.REPLAYED and verdict.stale


def test_wrong_digest_does_not_burn_nonce_counts() -> None:
    server = make_server(Clock())
    creds, ha1 = register(server)
    forged = Credentials.parse(str(creds))
    forged.response = "0" * 64
    assert server.verify(forged, ha1=ha1, method="REGISTER").outcome is Outcome.FAILED
    assert server.verify(creds, ha1=ha1, method="REGISTER").ok


def test_source_bound_nonces() -> None:
    clock = Clock()
    server = make_server(clock, bind_source=True)
    ch = server.challenges(source="192.0.2.7")[0]
    creds = authorize(ch, username="1001", password="s3cret", method="REGISTER", uri="sip:acme.example")
    ha1 = compute_ha1("1001", "acme.example", "s3cret", "SHA-256")
    assert server.verify(creds, ha1=ha1, method="REGISTER", source="198.51.100.1").outcome is Outcome.INVALID
    assert server.verify(creds, ha1=ha1, method="REGISTER", source="192.0.2.7").ok


def test_userhash() -> None:
    ch = Challenge(realm="acme.example", nonce="n", algorithm="SHA-256", qop=("auth",), userhash=True)
    creds = authorize(ch, username="1001", password="pw", method="REGISTER", uri="sip:acme.example")
    assert creds.username == hash_username("1001", "acme.example") and creds.userhash
    assert Credentials.parse(str(creds)) == creds
