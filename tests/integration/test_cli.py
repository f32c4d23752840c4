"""The ``centrex`` CLI end to end against a real server process, and the client's error mapping.

One server per module (per xdist worker): ``python -m centrex.cli.main serve`` on a free port with a throwaway
SQLite data directory. The "done means" path runs the real ``centrex`` executable as a subprocess; the other
command groups run in-process through typer's ``CliRunner`` (same app, much faster); the client's error mapping
is checked over ``httpx.MockTransport``.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from centrex.cli.main import app
from centrex.client import (
    CentrexAPIError,
    CentrexClient,
    CentrexConnectionError,
    CentrexResponseError,
)
from tests.support.server import centrex_server, free_port

pytestmark = pytest.mark.integration

ADMIN_PASSWORD = "Cli-admin-pw-123"
CENTREX_EXE = shutil.which("centrex", path=str(Path(sys.executable).parent))
_seq = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_seq)}-{secrets.token_hex(3)}"


def _clean_env() -> dict[str, str]:
    """The test process's environment without any CENTREX_* setting (so nothing leaks into the CLI/server)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CENTREX_") and k != "COLUMNS"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("centrex-cli") / "var"
    with centrex_server(data, admin_password=ADMIN_PASSWORD, base_env=_clean_env()) as running:
        yield running.url


# ------------------------------------------------------------------------------------------ ways to run the CLI
def run_exe(server: str, *args: str, api_key: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real ``centrex`` executable; the admin's Basic credentials unless ``api_key`` is given."""
    assert CENTREX_EXE, "the centrex console script is not installed next to the interpreter"
    env = {**_clean_env(), "CENTREX_URL": server, "COLUMNS": "200"}
    if api_key:
        env["CENTREX_API_KEY"] = api_key
    else:
        env |= {"CENTREX_USER": "admin", "CENTREX_PASSWORD": ADMIN_PASSWORD}
    return subprocess.run([CENTREX_EXE, *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def ok_json(result: subprocess.CompletedProcess[str] | Result) -> Any:
    code = result.returncode if isinstance(result, subprocess.CompletedProcess) else result.exit_code
    assert code == 0, f"exit {code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return json.loads(result.stdout)


RUNNER = CliRunner()


def cli(
    server: str | None,
    *args: str,
    api_key: str | None = None,
    user: str | None = "admin",
    env: dict[str, str] | None = None,
) -> Result:
    """The same app in-process; ``user=None`` and no key: no credentials at all."""
    environ: dict[str, str | None] = {
        "CENTREX_URL": server,
        "CENTREX_API_KEY": api_key,
        "CENTREX_USER": None if api_key else user,
        "CENTREX_PASSWORD": ADMIN_PASSWORD if user and not api_key else None,
        "CENTREX_TENANT": None,
        "CENTREX_HTTP": None,
        "CENTREX_PUBLIC_URL": None,
        "CENTREX_CONFIG": None,
        "COLUMNS": "200",
        **(env or {}),
    }
    return RUNNER.invoke(app, list(args), env=environ)


def ok(result: Result) -> str:
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result.stdout


def make_tenant(server: str, **options: str) -> dict[str, Any]:
    args = ["tenants", "create", "--code", unique("t"), "--name", "Test tenant", "--json"]
    for name, value in options.items():
        args += [f"--{name.replace('_', '-')}", value]
    return dict(ok_json(cli(server, *args)))


# ------------------------------------------------------------------------------------------ "done means"
def test_done_means_path_with_the_real_executable(server: str) -> None:
    # a reseller, a template tenant under it (limits, settings and one extension), a tenant from the template
    reseller = ok_json(
        run_exe(
            server, "tenants", "create", "--code", unique("r"), "--name", "Reseller", "--kind", "reseller", "--json"
        )
    )
    assert reseller["kind"] == "reseller"
    template = ok_json(
        run_exe(
            server,
            "tenants",
            "create",
            "--code",
            unique("tpl"),
            "--name",
            "Template",
            "--parent",
            reseller["code"],
            "--is-template",
            "--max-extensions",
            "20",
            "--set",
            "settings.greeting=hello",
            "--set",
            "settings.rings:=4",
            "--json",
        )
    )
    assert template["is_template"] is True
    ok_json(
        run_exe(
            server, "extensions", "create", "-t", template["code"], "--number", "150", "--name", "Reception", "--json"
        )
    )
    acme = ok_json(
        run_exe(
            server,
            "tenants",
            "create",
            "--code",
            unique("acme"),
            "--name",
            "Acme",
            "--parent",
            reseller["id"],
            "--template",
            template["code"],
            "--copy",
            "extension",
            "--json",
        )
    )
    assert acme["template_id"] == template["id"]
    assert acme["parent_id"] == reseller["id"]
    assert acme["limits"]["max_extensions"] == 20
    assert acme["settings"] == {"greeting": "hello", "rings": 4}

    # an API key for the tenant, captured from --json; from here on only the key is used
    issued = ok_json(run_exe(server, "keys", "create", "--tenant", acme["code"], "--name", "ci", "--json"))
    key = issued["key"]
    assert key.startswith("cx_")
    me = ok_json(run_exe(server, "whoami", "--json", api_key=key))
    assert (me["kind"], me["tenant_code"], me["role"]) == ("api_key", acme["code"], "tenant_admin")

    alice = ok_json(
        run_exe(
            server,
            "extensions",
            "create",
            "--tenant",
            acme["code"],
            "--number",
            "101",
            "--name",
            "Alice",
            "--email",
            "alice@example.com",
            "--json",
            api_key=key,
        )
    )
    assert (alice["number"], alice["name"], alice["tenant_id"]) == ("101", "Alice", acme["id"])
    assert alice["sip_password"]
    bob = run_exe(server, "extensions", "create", "-t", acme["code"], "--number", "102", "--name", "Bob", api_key=key)
    assert bob.returncode == 0, bob.stderr
    assert "Bob" in bob.stdout and "Field" in bob.stdout  # one object: a field/value table

    table = run_exe(server, "extensions", "list", "--tenant", acme["code"], api_key=key)
    assert table.returncode == 0, table.stderr
    assert "Number" in table.stdout and "Name" in table.stdout
    for text in ("101", "Alice", "alice@example.com", "102", "Bob", "150", "Reception"):
        assert text in table.stdout
    assert "3 of 3 extensions" in table.stdout

    page = ok_json(run_exe(server, "extensions", "list", "--tenant", acme["code"], "--json", api_key=key))
    assert page["total"] == 3
    assert [e["number"] for e in page["items"]] == ["101", "102", "150"]
    assert page["next_cursor"] is None

    # bad input: exit 1, the problem's detail, field errors and request_id on stderr, nothing created
    bad = run_exe(server, "extensions", "create", "-t", acme["code"], "--number", "0abc", "--name", "X", api_key=key)
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert "Traceback" not in bad.stderr
    assert "422 validation_error" in bad.stderr
    assert "number:" in bad.stderr
    assert "request_id: req_" in bad.stderr
    assert ok_json(run_exe(server, "extensions", "list", "-t", acme["code"], "--json", api_key=key))["total"] == 3

    # another tenant's key sees none of it: 404, whether through the tenant or the object id
    other = ok_json(run_exe(server, "tenants", "create", "--code", unique("other"), "--name", "Other", "--json"))
    other_key = ok_json(run_exe(server, "keys", "create", "-t", other["id"], "--name", "o", "--json"))["key"]
    refused = run_exe(server, "extensions", "list", "-t", acme["code"], api_key=other_key)
    assert refused.returncode == 1
    assert "404 not_found" in refused.stderr and "does not exist" in refused.stderr
    hidden = run_exe(server, "extensions", "get", alice["id"], "-t", other["code"], api_key=other_key)
    assert hidden.returncode == 1
    assert "404 not_found" in hidden.stderr
    sneaky = run_exe(server, "extensions", "delete", alice["id"], "-t", acme["id"], api_key=other_key)
    assert sneaky.returncode == 1 and "404" in sneaky.stderr
    assert (
        ok_json(run_exe(server, "extensions", "get", alice["id"], "-t", acme["code"], "--json", api_key=key))["name"]
        == "Alice"
    )


# ------------------------------------------------------------------------------------------ command groups
def test_tenants_update_suspend_resume_delete(server: str) -> None:
    reseller = make_tenant(server, kind="reseller")
    code = unique("t")
    created = ok_json(
        cli(
            server,
            "tenants",
            "create",
            "--code",
            code,
            "--name",
            "From options",
            "--parent",
            reseller["code"],
            "--data",
            '{"name": "from data", "description": "from data", "timezone": "Europe/Paris"}',
            "--set",
            "description=from set",
            "--max-extensions",
            "5",
            "--json",
        )
    )
    # --data is the base, options override it, --set overrides both
    assert (created["name"], created["description"], created["timezone"]) == (
        "From options",
        "from set",
        "Europe/Paris",
    )
    assert created["limits"]["max_extensions"] == 5

    shown = ok(cli(server, "tenants", "get", code))
    assert "limits.max_extensions" in shown and "Europe/Paris" in shown

    updated = ok_json(cli(server, "tenants", "update", code, "--name", "Renamed", "--is-template", "--json"))
    assert (updated["name"], updated["is_template"]) == ("Renamed", True)
    listed = ok_json(cli(server, "tenants", "list", "--parent", reseller["id"], "--is-template", "--json"))
    assert [t["code"] for t in listed["items"]] == [code]
    assert ok_json(cli(server, "tenants", "list", "--search", code, "--not-template", "--json"))["total"] == 0

    suspended = ok_json(cli(server, "tenants", "suspend", code, "--reason", "unpaid", "--json"))
    assert (suspended["status"], suspended["suspended_reason"]) == ("suspended", "unpaid")
    assert "suspended" in ok(cli(server, "tenants", "list", "--status", "suspended"))
    assert ok_json(cli(server, "tenants", "resume", code, "--json"))["status"] == "active"

    table = ok(cli(server, "tenants", "list", "--parent", reseller["code"]))
    assert code in table and "Renamed" in table and "Code" in table
    assert "Deleted tenant" in ok(cli(server, "tenants", "delete", code))
    gone = cli(server, "tenants", "get", code)
    assert gone.exit_code == 1 and "404 not_found" in gone.stderr


def test_users_create_password_update_delete(server: str) -> None:
    tenant = make_tenant(server)["code"]
    user = ok_json(
        cli(
            server,
            "users",
            "create",
            "-t",
            tenant,
            "--username",
            unique("u"),
            "--role",
            "tenant_admin",
            "--name",
            "Carol",
            "--json",
        )
    )
    assert user["password"]  # generated, shown once
    reset = ok_json(cli(server, "users", "password", user["id"], "-t", tenant, "--json"))
    assert reset["password"] and reset["password"] != user["password"]
    chosen = ok_json(
        cli(server, "users", "password", user["id"], "-t", tenant, "--new-password", "Chosen-pass-123", "--json")
    )
    assert chosen["password"] is None
    # the user can now authenticate with the chosen password
    me = ok_json(cli(server, "whoami", "--json", "--user", user["username"], "--password", "Chosen-pass-123"))
    assert me["role"] == "tenant_admin"

    assert ok_json(cli(server, "users", "update", user["id"], "-t", tenant, "--disabled", "--json"))["enabled"] is False
    table = ok(cli(server, "users", "list", "-t", tenant, "--disabled"))
    assert user["username"] in table and "Carol" in table
    assert ok_json(cli(server, "users", "list", "-t", tenant, "--enabled", "--json"))["total"] == 0
    assert "Deleted user" in ok(cli(server, "users", "delete", user["id"], "-t", tenant))
    assert ok_json(cli(server, "users", "list", "-t", tenant, "--json"))["total"] == 0


def test_keys_rotate_revoke_delete(server: str) -> None:
    tenant = make_tenant(server)["code"]
    first = ok_json(cli(server, "keys", "create", "-t", tenant, "--name", "first", "--read-only", "--json"))
    assert first["read_only"] is True
    created = cli(server, "keys", "create", "-t", tenant, "--name", "shown")
    assert "key" in ok(created) and "not shown again" in created.stderr

    rotated = ok_json(cli(server, "keys", "rotate", first["id"], "-t", tenant, "--overlap", "0", "--json"))
    assert rotated["key"] != first["key"] and rotated["id"] != first["id"]
    assert ok_json(cli(server, "whoami", "--json", api_key=rotated["key"]))["read_only"] is True

    renamed = ok_json(cli(server, "keys", "update", rotated["id"], "-t", tenant, "--name", "renamed", "--json"))
    assert renamed["name"] == "renamed"
    assert ok_json(cli(server, "keys", "revoke", rotated["id"], "-t", tenant, "--json"))["status"] == "revoked"
    refused = cli(server, "whoami", api_key=rotated["key"])
    assert refused.exit_code == 1 and "401" in refused.stderr

    table = ok(cli(server, "keys", "list", "-t", tenant, "--status", "revoked"))
    assert "renamed" in table and "revoked" in table
    ok(cli(server, "keys", "delete", rotated["id"], "-t", tenant))
    assert rotated["id"] not in ok(cli(server, "keys", "list", "-t", tenant))


def test_extension_credentials_devices_and_numbers(server: str) -> None:
    tenant = make_tenant(server)["code"]
    ext = ok_json(
        cli(
            server,
            "extensions",
            "create",
            "-t",
            tenant,
            "--number",
            "201",
            "--name",
            "Dave",
            "--voicemail-pin",
            "1234",
            "--json",
        )
    )
    creds = ok_json(cli(server, "extensions", "credentials", ext["id"], "-t", tenant, "--json"))
    assert (creds["username"], creds["password"]) == ("201", ext["sip_password"])
    new = ok_json(cli(server, "extensions", "credentials", ext["id"], "-t", tenant, "--rotate", "--json"))
    assert new["password"] != creds["password"]
    assert "SIP credentials" in ok(cli(server, "extensions", "credentials", ext["id"], "-t", tenant))
    changed = ok_json(
        cli(server, "extensions", "update", ext["id"], "-t", tenant, "--dnd", "--set", "ring_timeout:=30", "--json")
    )
    assert (changed["dnd"], changed["ring_timeout"]) == (True, 30)
    assert ok_json(cli(server, "extensions", "list", "-t", tenant, "--dnd", "--json"))["total"] == 1

    device = ok_json(
        cli(
            server,
            "devices",
            "create",
            "-t",
            tenant,
            "--mac",
            "00:15:65:AA:BB:CC",
            "--model",
            "T46U",
            "--extension",
            ext["id"],
            "--set",
            'line_keys:=[{"index": 1, "type": "line"}]',
            "--json",
        )
    )
    assert device["mac"] == "001565aabbcc" and device["line_keys"][0]["type"] == "line"
    assert "001565aabbcc" in ok(cli(server, "devices", "list", "-t", tenant, "--extension", ext["id"]))
    assert (
        ok_json(cli(server, "devices", "update", device["id"], "-t", tenant, "--name", "Desk", "--json"))["name"]
        == "Desk"
    )
    in_use = cli(server, "extensions", "delete", ext["id"], "-t", tenant)  # the device still points at it
    assert in_use.exit_code == 1 and "409 in_use" in in_use.stderr
    assert f"used by device {device['id']}" in in_use.stderr
    ok(cli(server, "devices", "delete", device["id"], "-t", tenant))

    number = ok_json(
        cli(server, "numbers", "create", "-t", tenant, "--number", "+1 212 555 0100", "--description", "main", "--json")
    )
    assert number["number"] == "+12125550100"
    assert "+12125550100" in ok(cli(server, "numbers", "list", "-t", tenant, "--search", "212"))
    assert (
        ok_json(cli(server, "numbers", "update", number["id"], "-t", tenant, "--description", "sales", "--json"))[
            "description"
        ]
        == "sales"
    )
    assert ok_json(cli(server, "numbers", "get", number["id"], "-t", tenant, "--json"))["description"] == "sales"
    ok(cli(server, "numbers", "delete", number["id"], "-t", tenant))

    ok(cli(server, "extensions", "delete", ext["id"], "-t", tenant))
    assert ok_json(cli(server, "extensions", "list", "-t", tenant, "--json"))["total"] == 0


def test_paging_cursor_and_all(server: str) -> None:
    tenant = make_tenant(server)["code"]
    for n in ("301", "302", "303"):
        ok(cli(server, "extensions", "create", "-t", tenant, "--number", n, "--name", f"E{n}"))
    first = ok_json(cli(server, "extensions", "list", "-t", tenant, "--limit", "2", "--json"))
    assert (len(first["items"]), first["total"]) == (2, 3) and first["next_cursor"]
    second = ok_json(
        cli(server, "extensions", "list", "-t", tenant, "--limit", "2", "--cursor", first["next_cursor"], "--json")
    )
    assert [e["number"] for e in second["items"]] == ["303"]
    everything = ok_json(cli(server, "extensions", "list", "-t", tenant, "--limit", "1", "--all", "--json"))
    assert [e["number"] for e in everything["items"]] == ["301", "302", "303"]
    desc = ok_json(cli(server, "extensions", "list", "-t", tenant, "--sort", "-number", "--json"))
    assert [e["number"] for e in desc["items"]] == ["303", "302", "301"]
    table = ok(cli(server, "extensions", "list", "-t", tenant, "--limit", "1"))
    assert "1 of 3 extensions; more with --cursor" in table


def test_audit_events_and_whoami(server: str) -> None:
    tenant = make_tenant(server)
    ext = ok_json(
        cli(server, "extensions", "create", "-t", tenant["code"], "--number", "401", "--name", "Eve", "--json")
    )
    audit = ok_json(cli(server, "audit", "-t", tenant["code"], "--resource-type", "extension", "--json"))
    assert [(e["action"], e["resource_id"]) for e in audit["items"]] == [("create", ext["id"])]
    assert "audit entries" in ok(cli(server, "audit", "-t", tenant["code"]))
    tree = ok_json(cli(server, "audit", "--limit", "5", "--json"))  # the admin's whole sub-tree
    assert tree["total"] >= 2

    events = ok_json(cli(server, "events", "-t", tenant["code"], "--type", "extension.", "--json"))
    assert [e["type"] for e in events["items"]] == ["extension.created"]
    later = ok_json(
        cli(server, "events", "-t", tenant["code"], "--after-seq", str(events["items"][0]["seq"]), "--json")
    )
    assert all(e["seq"] > events["items"][0]["seq"] for e in later["items"])

    me = ok(cli(server, "whoami"))
    assert "platform_admin" in me and "tenants.create" in me
    # without --url or CENTREX_URL the CLI finds the server from the server's own setting (CENTREX_HTTP)
    found = ok_json(cli(None, "whoami", "--json", env={"CENTREX_HTTP": server.removeprefix("http://")}))
    assert found["tenant_code"] == "platform"


def test_cli_errors(server: str) -> None:
    tenant = make_tenant(server)["code"]
    ok(cli(server, "extensions", "create", "-t", tenant, "--number", "501", "--name", "One"))
    duplicate = cli(server, "extensions", "create", "-t", tenant, "--number", "501", "--name", "Two")
    assert duplicate.exit_code == 1 and "409" in duplicate.stderr and "request_id: req_" in duplicate.stderr
    unknown_field = cli(
        server, "extensions", "create", "-t", tenant, "--number", "502", "--name", "X", "--set", "colour=blue"
    )
    assert unknown_field.exit_code == 1 and "colour: unknown field" in unknown_field.stderr

    anonymous = cli(server, "whoami", user=None)
    assert anonymous.exit_code == 1
    assert "401 unauthenticated" in anonymous.stderr and "--api-key" in anonymous.stderr
    wrong = cli(server, "whoami", "--user", "admin", "--password", "wrong-password-1")
    assert wrong.exit_code == 1 and "401" in wrong.stderr

    unreachable = cli(f"http://127.0.0.1:{free_port()}", "whoami")
    assert unreachable.exit_code == 1 and "cannot reach" in unreachable.stderr

    bad_json = cli(server, "extensions", "create", "-t", tenant, "--number", "503", "--name", "X", "--data", "{x")
    assert bad_json.exit_code == 2 and "--data" in bad_json.stderr
    bad_set = cli(server, "extensions", "create", "-t", tenant, "--number", "503", "--name", "X", "--set", "oops")
    assert bad_set.exit_code == 2 and "--set" in bad_set.stderr
    assert ok_json(cli(server, "extensions", "list", "-t", tenant, "--json"))["total"] == 1


# ------------------------------------------------------------------------------------------ client, no server
def _client(handler: Any, **kwargs: Any) -> CentrexClient:
    return CentrexClient("http://centrex.test/api/v1/", transport=httpx.MockTransport(handler), **kwargs)


def test_client_maps_problem_documents() -> None:
    problem = {
        "type": "https://centrex.dev/problems/validation_error",
        "title": "Invalid input",
        "status": 422,
        "code": "validation_error",
        "detail": "number: bad",
        "request_id": "req_1",
        "errors": [{"field": "number", "message": "bad", "code": "string_pattern_mismatch"}],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json=problem, headers={"content-type": "application/problem+json"})

    with _client(handler, api_key="cx_k") as api, pytest.raises(CentrexAPIError) as caught:
        api.extensions.create("acme", {"number": "0"})
    err = caught.value
    assert (err.status, err.code, err.detail, err.request_id, err.title) == (
        422,
        "validation_error",
        "number: bad",
        "req_1",
        "Invalid input",
    )
    assert err.errors == [{"field": "number", "message": "bad", "code": "string_pattern_mismatch"}]
    assert err.problem == problem
    assert str(err) == "422 validation_error: number: bad (request_id req_1)"


def test_client_maps_non_problem_errors_and_transport_failures() -> None:
    def html(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad gateway</html>\n<p>x</p>", headers={"x-request-id": "req_2"})

    with _client(html) as api, pytest.raises(CentrexAPIError) as caught:
        api.tenants.list()
    assert (caught.value.status, caught.value.code, caught.value.request_id) == (502, "http_502", "req_2")
    assert caught.value.detail == "<html>Bad gateway</html>" and caught.value.errors == []

    def empty(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404)

    with _client(empty) as api, pytest.raises(CentrexAPIError) as caught:
        api.tenants.get("nope")
    assert (caught.value.code, caught.value.detail) == ("http_404", "Not Found")

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with _client(refused) as api, pytest.raises(CentrexConnectionError, match=r"cannot reach http://centrex\.test"):
        api.me()

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with _client(slow) as api, pytest.raises(CentrexConnectionError, match="timed out"):
        api.me()

    def not_json(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>hello</html>", headers={"content-type": "text/html"})

    with _client(not_json) as api, pytest.raises(CentrexResponseError, match="expected JSON"):
        api.me()


def test_client_requests_auth_and_paging() -> None:
    seen: list[httpx.Request] = []
    pages = {
        None: {"items": [{"id": "a"}, {"id": "b"}], "total": 3, "limit": 2, "offset": 0, "next_cursor": "c1"},
        "c1": {"items": [{"id": "c"}], "total": 3, "limit": 2, "offset": 0, "next_cursor": None},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "DELETE":
            return httpx.Response(204)
        return httpx.Response(200, json=pages[request.url.params.get("cursor")])

    with _client(handler, api_key="cx_key", username="ignored", password="x") as api:
        items = list(api.extensions.iter_all("acme co", page_size=2, enabled=True, q=None))
        api.extensions.delete("acme co", "ext/1", if_match='"v1"')
    assert [i["id"] for i in items] == ["a", "b", "c"]
    first, second, delete = seen
    assert first.url.raw_path.startswith(b"/api/v1/tenants/acme%20co/extensions?")
    assert dict(first.url.params) == {"limit": "2", "enabled": "true"}
    assert second.url.params["cursor"] == "c1"
    assert first.headers["x-api-key"] == "cx_key" and "authorization" not in first.headers
    assert first.headers["user-agent"].startswith("centrex-client/")
    assert delete.url.raw_path == b"/api/v1/tenants/acme%20co/extensions/ext%2F1"
    assert delete.headers["if-match"] == '"v1"'

    seen.clear()
    with _client(handler, username="admin", password="pw") as api:
        api.tenants.list(kind="reseller")
    assert seen[0].headers["authorization"].startswith("Basic ")
    assert "x-api-key" not in seen[0].headers


def test_pbx_configuration_commands(server: str, tmp_path: Path) -> None:
    """Routing, groups, queues, media and contacts through the CLI, ending with the resolver's answer."""
    tenant = make_tenant(server)["code"]
    ext = ok_json(cli(server, "extensions", "create", "-t", tenant, "--number", "201", "--name", "Ann", "--json"))
    # Outbound routing: the emergency route is there from the start; a trunk and a route through it.
    routes = ok_json(cli(server, "outbound-routes", "list", "-t", tenant, "--json"))["items"]
    assert [r["emergency"] for r in routes] == [True]
    trunk = ok_json(
        cli(
            server,
            *("trunks", "create", "-t", tenant, "--name", "Carrier", "--set", "kind=ip"),
            *("--set", "host=sip.carrier.example", "--set", 'allowed_ips:=["64.20.1.0/24"]', "--json"),
        )
    )
    # A private source range is refused, with the field named.
    bad = cli(
        server,
        *("trunks", "create", "-t", tenant, "--name", "Bad", "--set", "kind=ip", "--set", "host=h.example"),
        *("--set", 'allowed_ips:=["10.0.0.0/8"]'),
    )
    assert bad.exit_code == 1 and "allowed_ips" in bad.stderr
    assert trunk["id"] in ok(cli(server, "trunks", "available", "-t", tenant))
    route = ok_json(
        cli(
            server,
            *("outbound-routes", "create", "-t", tenant, "--name", "National"),
            *(
                "--data",
                json.dumps(
                    {
                        "patterns": [{"match": "1NXXNXXXXXX"}],
                        "destination_class": "national",
                        "trunk_ids": [trunk["id"]],
                    }
                ),
                "--json",
            ),
        )
    )
    assert route["trunk_ids"] == [trunk["id"]]
    listed = ok_json(cli(server, "outbound-routes", "list", "-t", tenant, "--trunk", trunk["id"], "--json"))
    assert [r["id"] for r in listed["items"]] == [route["id"]]

    # Groups and queues.
    group = ok_json(
        cli(
            server,
            *("ring-groups", "create", "-t", tenant, "--name", "Support", "--set", "number=600"),
            *("--set", f'members:=[{{"type": "extension", "extension_id": "{ext["id"]}"}}]', "--json"),
        )
    )
    members = ok_json(
        cli(server, "ring-groups", "set-members", group["id"], "201", "+12125550199", "-t", tenant, "--json")
    )
    assert [m["number"] for m in members] == ["201", "+12125550199"]
    assert "Ann" in ok(cli(server, "ring-groups", "members", group["id"], "-t", tenant))
    queue = ok_json(cli(server, "queues", "create", "-t", tenant, "--name", "Sales", "--set", "number=700", "--json"))
    agent = ok_json(cli(server, "queues", "add-agent", queue["id"], ext["id"], "-t", tenant, "--json"))
    paused = ok_json(
        cli(server, "queues", "agent", queue["id"], agent["id"], "pause", "-t", tenant, "--reason", "lunch", "--json")
    )
    assert (paused["paused"], paused["pause_reason"]) == (True, "lunch")
    wrong = cli(server, "queues", "agent", queue["id"], agent["id"], "dance", "-t", tenant)
    assert wrong.exit_code == 2
    free = ok(cli(server, "dial-plan", "free", "-t", tenant, "--limit", "3")).split()
    assert len(free) == 3 and "201" not in free
    used = ok_json(cli(server, "dial-plan", "numbers", "-t", tenant, "--json"))
    assert {"201", "600", "700"} <= {n["number"] for n in used}

    # Media: text to speech, then download the WAV.
    prompt = ok_json(cli(server, "media", "tts", "Welcome to Acme", "-t", tenant, "--name", "welcome", "--json"))
    wav = tmp_path / "welcome.wav"
    ok(cli(server, "media", "download", prompt["id"], "-t", tenant, "-o", str(wav)))
    assert wav.read_bytes()[:4] == b"RIFF" and prompt["duration_ms"] > 300
    uploaded = ok_json(cli(server, "media", "upload", str(wav), "-t", tenant, "--name", "again", "--json"))
    assert uploaded["sha256"] == prompt["sha256"]

    # Contacts: CSV import into a phonebook, find by number, export.
    book = ok_json(cli(server, "phonebooks", "create", "-t", tenant, "--name", "Company", "--json"))
    csv_file = tmp_path / "contacts.csv"
    csv_file.write_text("first_name,last_name,business\nBob,Jones,+1 415 555 0142\n", encoding="utf-8")
    imported = ok_json(cli(server, "phonebooks", "import", book["id"], str(csv_file), "-t", tenant, "--json"))
    assert imported["created"] == 1, imported
    found = ok(cli(server, "contacts", "find", "4155550142", "-t", tenant))
    assert "Bob" in found
    exported = tmp_path / "out.csv"
    ok(cli(server, "contacts", "export", "-t", tenant, "-o", str(exported)))
    assert "Jones" in exported.read_text(encoding="utf-8")

    # The resolver: what extension 201 dialling the ring group gets, step by step.
    answer = ok(cli(server, "routing", "resolve", "600", "-t", tenant, "--from", "201"))
    assert "ring_group" in answer and group["id"] in answer
