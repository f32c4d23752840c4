"""Schemathesis over the whole OpenAPI document against a real server process.

Checks: no 500s, status codes/content types/headers/bodies conform to the document, and input that violates the
schema is rejected. The run is seeded (reproducible) and bounded (examples per operation); the report is kept in the
test's temporary directory and printed on failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.server import ADMIN_PASSWORD, centrex_server

pytestmark = pytest.mark.integration

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
    ]
)


def test_schemathesis_finds_no_errors(tmp_path: Path) -> None:
    examples = os.environ.get("CENTREX_SCHEMATHESIS_EXAMPLES", "25")
    # Schemathesis also sends wrong credentials on purpose; keep the failed-login guard from locking out the
    # test's own address (the guard has its own tests).
    with centrex_server(tmp_path / "data", env={"CENTREX_LOGIN_MAX_FAILURES": "1000000"}) as server:
        st = Path(sys.executable).with_name("st")
        result = subprocess.run(
            [
                str(st),
                "run",
                server.url + "/openapi.json",
                "--auth",
                f"admin:{ADMIN_PASSWORD}",
                "--checks",
                CHECKS,
                "--max-examples",
                examples,
                "--seed",
                "20261123",
                "--phases",
                "examples,coverage,fuzzing",
                "--workers",
                "1",  # 2 workers hit a CPython 3.11 ast.parse race in hypothesis
                "--no-color",
                "--generation-database",
                "none",
                "--request-timeout",
                "20",
                "--report",
                "junit",
                "--report-dir",
                str(tmp_path / "report"),
            ],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
            cwd=tmp_path,
        )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
