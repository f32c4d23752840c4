"""Client-side digest (``centrex.sip.auth_client``): RFC 7616 §3.9.1 example values, round trips against our own
server-side ``DigestAuthenticator``, the choice among several challenges, and the resent request (§22.2)."""

from __future__ import annotations

import pytest

from centrex.sip.auth import Credentials, DigestAuthenticator, NonceManager, compute_ha1
from centrex.sip.auth_client import ClientAuthError, answer_challenge, pick_challenge, with_credentials
from centrex.sip.message import Headers, Request, Response, parse, parse_vias

# RFC 7616 §3.9.1
RFC_REALM = "http-auth@example.org"
RFC_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
RFC_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


def _challenge(status: int, *values: str) -> Response:
    name = "WWW-Authenticate" if status == 401 else "Proxy-Authenticate"
    headers = Headers()
    for value in values:
        headers.add(name, value)
    return Response(headers=headers, status=status, reason="Unauthorized")


def _rfc_challenge(algorithm: str) -> str:
    return (
        f'Digest realm="{RFC_REALM}", qop="auth, auth-int", algorithm={algorithm}, nonce="{RFC_NONCE}", '
        f'opaque="{RFC_OPAQUE}"'
    )


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_example(algorithm: str, expected: str) -> None:
    request = Request(method="GET", uri="/dir/index.html")
    name, value = answer_challenge(
        _challenge(401, _rfc_challenge(algorithm)), request, "Mufasa", "Circle of Life", cnonce=RFC_CNONCE
    )
    assert name == "Authorization"
    creds = Credentials.parse(value)
    assert creds.response == expected
    assert (creds.username, creds.realm, creds.uri, creds.qop, creds.nc) == (
        "Mufasa",
        RFC_REALM,
        "/dir/index.html",
        "auth",
        1,
    )
    assert creds.cnonce == RFC_CNONCE and creds.opaque == RFC_OPAQUE and creds.algorithm == algorithm
    assert "nc=00000001" in value


def test_rfc7616_picks_sha256_over_md5() -> None:
    """The RFC's example server sends SHA-256 then MD5: the client answers the SHA-256 one (RFC 8760 §2.4)."""
    both = _challenge(401, _rfc_challenge("MD5"), _rfc_challenge("SHA-256"))
    assert pick_challenge(both).algorithm == "SHA-256"
    _, value = answer_challenge(both, Request(method="GET", uri="/dir/index.html"), "Mufasa", "Circle of Life")
    assert Credentials.parse(value).algorithm == "SHA-256"


def _register() -> Request:
    return parse(
        b"REGISTER sip:acme.example SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKfirst;rport\r\n"
        b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKproxy\r\n"
        b"Max-Forwards: 70\r\n"
        b"From: <sip:1001@acme.example>;tag=abc\r\n"
        b"To: <sip:1001@acme.example>\r\n"
        b"Call-ID: reg-1@host\r\n"
        b"CSeq: 7 REGISTER\r\n"
        b"Contact: <sip:1001@127.0.0.1:5070>\r\n"
        b"Expires: 300\r\n"
        b"Content-Length: 0\r\n\r\n"
    )  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("algorithms", "qop", "status"),
    [
        (("MD5",), ("auth",), 401),
        (("SHA-256",), ("auth",), 401),
        (("MD5-sess",), ("auth",), 401),
        (("MD5",), (), 401),  # RFC 2069 form: no qop, no cnonce
        (("SHA-256",), (), 407),
        (("MD5", "SHA-256"), ("auth",), 407),
    ],
)
def test_round_trip_with_our_server(algorithms: tuple[str, ...], qop: tuple[str, ...], status: int) -> None:
    realm = "acme.example"
    auth = DigestAuthenticator(realm, NonceManager(b"k" * 32), algorithms=algorithms, qop=qop)
    challenge = _challenge(status, *(str(c) for c in auth.challenges()))
    request = _register()
    resent = with_credentials(request, challenge, "1001", "s3cret pass")
    header = "Authorization" if status == 401 else "Proxy-Authorization"
    (value,) = resent.headers.get_all(header)
    creds = Credentials.parse(value)
    if not qop:
        assert creds.qop is None and creds.nc is None
    alg = creds.effective_algorithm
    assert alg == ("SHA-256" if "SHA-256" in algorithms else algorithms[0])
    ha1 = compute_ha1("1001", realm, "s3cret pass", alg.removesuffix("-sess"))
    assert auth.verify(creds, ha1=ha1, method="REGISTER", request_uri=request.uri).ok
    wrong = compute_ha1("1001", realm, "wrong", alg.removesuffix("-sess"))
    assert not auth.verify(creds, ha1=wrong, method="REGISTER").ok


def test_resent_request_is_a_new_transaction() -> None:
    request = _register()
    auth = DigestAuthenticator("acme.example", NonceManager(b"k" * 32), algorithms=("MD5",))
    challenge = _challenge(401, *(str(c) for c in auth.challenges()))
    resent = with_credentials(request, challenge, "1001", "pw")
    assert resent.cseq == (8, "REGISTER")
    vias = parse_vias(resent.headers.get_all("Via"))
    assert len(vias) == 2
    assert vias[0].branch is not None and vias[0].branch.startswith("z9hG4bK") and vias[0].branch != "z9hG4bKfirst"
    assert vias[0].has_rport and vias[0].host == "127.0.0.1"
    assert vias[1].branch == "z9hG4bKproxy"
    for name in ("Call-ID", "From", "To", "Contact", "Expires"):
        assert resent.headers.get(name) == request.headers.get(name)
    assert request.cseq == (7, "REGISTER") and "Authorization" not in request.headers  # the original is untouched
    # Answered again (a stale nonce): the credentials for the realm are replaced, not piled up.
    again = with_credentials(resent, challenge, "1001", "pw")
    assert again.cseq == (9, "REGISTER") and len(again.headers.get_all("Authorization")) == 1
    assert bytes(again).startswith(b"REGISTER sip:acme.example SIP/2.0\r\n")


def test_invite_body_is_kept() -> None:
    invite = Request(method="INVITE", uri="sip:+15551234@carrier.example", body=b"v=0\r\n")
    invite.headers.add("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx")
    invite.headers.add("CSeq", "1 INVITE")
    auth = DigestAuthenticator("carrier.example", NonceManager(b"k" * 32), algorithms=("MD5",))
    challenge = _challenge(407, *(str(c) for c in auth.challenges()))
    resent = with_credentials(invite, challenge, "trunkuser", "pw")
    assert resent.body == b"v=0\r\n" and resent.method == "INVITE" and resent.cseq == (2, "INVITE")
    creds = Credentials.parse(resent.headers.get("Proxy-Authorization") or "")
    assert creds.uri == "sip:+15551234@carrier.example"
    ha1 = compute_ha1("trunkuser", "carrier.example", "pw")
    assert auth.verify(creds, ha1=ha1, method="INVITE").ok


def test_skips_unusable_challenges() -> None:
    good = 'Digest realm="r", nonce="n", algorithm=MD5, qop="auth"'
    mixed = _challenge(401, 'Basic realm="r"', 'Digest realm="r", nonce="n", algorithm=SHA-1', good)
    assert pick_challenge(mixed).algorithm == "MD5"


@pytest.mark.parametrize(
    ("status", "values", "message"),
    [
        (401, ['Digest realm="r", nonce="n", algorithm=SHA-1'], "unsupported digest algorithm"),
        (401, ['Digest realm="r"'], "without realm or nonce"),
        (401, ['Digest realm="r", nonce="n", qop="auth-conf"'], "no supported qop"),
        (401, ['Basic realm="r"'], "unsupported authentication scheme"),
        (401, ['Digest realm="r, nonce=n'], "unterminated"),
        (401, [], "without WWW-Authenticate"),
        (403, ['Digest realm="r", nonce="n"'], "401/407 expected"),
    ],
)
def test_errors(status: int, values: list[str], message: str) -> None:
    response = _challenge(status, *values)
    with pytest.raises(ClientAuthError, match=message):
        answer_challenge(response, _register(), "u", "p")
