"""Every route the binary serves (as listed by `setec-manager routes`, which
prints the very table the server uses) refuses a request without
credentials: 401 JSON for the API, 303 to /login for a browser asking for a
page."""
import re
import subprocess

import pytest

from conftest import BIN


def parse_routes():
    out = subprocess.run([BIN, "routes"], capture_output=True, text=True, check=True).stdout
    routes = []
    for line in out.splitlines():
        f = line.split()
        method, path, auth = f[0], f[1], "ROUTE_" + f[2].upper()
        routes.append((method, path, auth, "page" in f[3:]))
    return routes


ROUTES = parse_routes()
PUBLIC = [r for r in ROUTES if r[2] == "ROUTE_PUBLIC"]
PROTECTED = [r for r in ROUTES if r[2] != "ROUTE_PUBLIC"]


def concrete(path):
    return re.sub(r"\{[^}]+\}", "1", path)


def ids(routes):
    return [f"{m} {p}" for m, p, *_ in routes]


def test_route_table_parsed():
    got = {(m, p) for m, p, *_ in ROUTES}
    for want in (("GET", "/login"), ("POST", "/login"), ("POST", "/logout"), ("GET", "/"),
                 ("GET", "/api/system/info"), ("GET", "/api/auth/status"),
                 ("GET", "/panel/users"), ("POST", "/panel/users"),
                 ("PUT", "/panel/users/{id}"), ("DELETE", "/panel/users/{id}")):
        assert want in got, want
    assert {r[:2] for r in PUBLIC} == {("GET", "/login"), ("POST", "/login"),
                                      ("POST", "/logout")}
    assert len(PROTECTED) >= 7


@pytest.mark.parametrize("route", PROTECTED, ids=ids(PROTECTED))
def test_no_credentials_401(panel, route):
    method, path, _, _ = route
    kw = {"json": {}} if method in ("POST", "PUT") else {}
    r = panel.request(method, concrete(path), headers={"Accept": "application/json"}, **kw)
    assert r.status_code == 401, (method, path, r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    assert set(r.json()) == {"error"} and r.json()["error"]


@pytest.mark.parametrize("route", PROTECTED, ids=ids(PROTECTED))
def test_bad_credentials_401(panel, route):
    method, path, _, _ = route
    for headers in ({"Authorization": "Bearer not.a.token"},
                    {"Cookie": "setec_token=not.a.token; setec_csrf=" + "a" * 64,
                     "X-CSRF-Token": "a" * 64},
                    {"Authorization": "Basic YWRtaW46YWRtaW4="}):
        r = panel.request(method, concrete(path), headers=headers)
        assert r.status_code == 401, (method, path, headers, r.status_code, r.text)
        assert set(r.json()) == {"error"}


@pytest.mark.parametrize("route", PROTECTED, ids=ids(PROTECTED))
def test_no_credentials_browser(panel, route):
    method, path, _, page = route
    r = panel.request(method, concrete(path),
                      headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    if method == "GET" and page:
        assert r.status_code == 303, (path, r.status_code)
        # the sign-in page comes back here afterwards (issue 15: keeps `next`)
        want = "/login" if path == "/" else "/login?next=" + concrete(path)
        assert r.headers["Location"] == want
        assert r.content == b""
    else:
        assert r.status_code == 401, (method, path, r.status_code)
        assert set(r.json()) == {"error"}


@pytest.mark.parametrize("route", [r for r in PROTECTED if r[0] == "GET"],
                         ids=ids([r for r in PROTECTED if r[0] == "GET"]))
def test_head_without_credentials_401(panel, route):
    r = panel.request("HEAD", concrete(route[1]))
    assert r.status_code == 401 and r.content == b""


def test_public_routes(panel):
    r = panel.request("GET", "/login", headers={"Accept": "text/html"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    r = panel.request("POST", "/logout")
    assert r.status_code == 200 and r.json() == {"status": "logged out"}
    r = panel.request("POST", "/login", json={})
    assert r.status_code == 400 and set(r.json()) == {"error"}
