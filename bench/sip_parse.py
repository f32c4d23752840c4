"""SIP message parsing: our sans-I/O core against aiosipua (the most recent asyncio SIP library on PyPI), same run.

Measures what issue 5 asks before choosing a SIP stack:
1. Parse rate of a typical INVITE with SDP (~900 bytes), µs per message: ``centrex.sip.message.parse`` + ``validate``
   against ``aiosipua.SipMessage.parse``.
2. The RFC 4475 torture corpus (tests/sip/torture): how many of the invalid messages each parser refuses, and how many
   of the valid ones it accepts; crashes (any exception other than the parser's own error type) are counted.

aiosipua is not a project dependency: it is installed into a throwaway virtualenv under the system temp directory
and measured there in a child process. Writes bench/results/sip_parse.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "sip" / "torture"
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

INVITE = (
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n"
    "Max-Forwards: 70\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    'From: "Alice Liddell" <sip:alice@atlanta.example.com>;tag=1928301774\r\n'
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@192.0.2.101:5060;transport=udp>\r\n"
    "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, SUBSCRIBE, INFO, UPDATE\r\n"
    "Supported: replaces, timer, 100rel\r\n"
    "User-Agent: Example Phone 1.0\r\n"
    "Session-Expires: 1800\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: {length}\r\n\r\n{body}"
)
SDP = (
    "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.101\r\ns=-\r\nc=IN IP4 192.0.2.101\r\nt=0 0\r\n"
    "m=audio 49170 RTP/AVP 0 8 9 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
)
MESSAGE = INVITE.format(length=len(SDP), body=SDP).encode()

# Runs in either interpreter: measures one parser over the sample and the corpus. argv: kind corpus_dir iterations
CHILD = r"""
import json, sys, time
from pathlib import Path
kind, corpus, iterations, sample = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), bytes.fromhex(sys.argv[4])
if kind == "centrex":
    from centrex.sip.message import ParseError, parse
    from centrex.sip.message.validate import validate
    def run(data):
        msg = parse(data)
        validate(msg)
        return msg
    own_error = ParseError
else:
    from aiosipua import SipMessage
    def run(data):
        return SipMessage.parse(data)
    own_error = ValueError
run(sample)
best = None
for _ in range(5):
    t0 = time.perf_counter()
    for _ in range(iterations):
        run(sample)
    took = (time.perf_counter() - t0) / iterations * 1e6
    best = took if best is None else min(best, took)
outcome = {}
for path in sorted(corpus.glob("*.dat")):
    try:
        run(path.read_bytes())
        outcome[path.stem] = "accepted"
    except own_error:
        outcome[path.stem] = "refused"
    except Exception as exc:  # noqa: BLE001 - a crash is what we count
        outcome[path.stem] = "crash:" + type(exc).__name__
print(json.dumps({"us_per_message": round(best, 2), "corpus": outcome}))
"""


def measure(python: str, kind: str, iterations: int) -> dict[str, Any]:
    out = subprocess.run(
        [python, "-c", CHILD, kind, str(CORPUS), str(iterations), MESSAGE.hex()],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return dict(json.loads(out.stdout))


def main() -> int:
    from tests.sip.test_torture import INVALID, VALID

    iterations = 20_000
    ours = measure(sys.executable, "centrex", iterations)
    with tempfile.TemporaryDirectory(prefix="centrex-bench-sipua-") as tmp:
        venv.create(tmp, with_pip=True)
        python = str(Path(tmp) / "bin" / "python")
        subprocess.run([python, "-m", "pip", "install", "-q", "aiosipua==0.7.1"], check=True, capture_output=True)
        theirs = measure(python, "aiosipua", iterations)

    def score(result: dict[str, Any]) -> dict[str, Any]:
        corpus = result["corpus"]
        return {
            "us_per_message": result["us_per_message"],
            "valid_accepted": sum(corpus.get(n) == "accepted" for n in VALID),
            "invalid_refused": sum(corpus.get(n) == "refused" for n in INVALID),
            "crashes": sorted(n for n, o in corpus.items() if o.startswith("crash")),
            "valid_total": len(VALID),
            "invalid_total": len(INVALID),
        }

    result = {
        "benchmark": "sip_parse",
        "message_bytes": len(MESSAGE),
        "iterations": iterations,
        "centrex": score(ours),
        "aiosipua_0_7_1": score(theirs),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "sip_parse.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
