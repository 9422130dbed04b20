"""A local stand-in for Hostinger's public API (developers.hostinger.com),
written from the published shapes (spec/hosting-api.md, upstream table):
Bearer check, {message, correlation_id} errors, 422 with `errors`, stateful
DNS zones, domain portfolio, VMs, paginated public keys and the catalog, a
429 with Retry-After on demand, a log of every request it got and a count of
the TCP connections it accepted. HTTP/1.1 keep-alive, plain or TLS."""
import base64
import copy
import hashlib
import ipaddress
import json
import socket
import ssl
import struct
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TYPES = {"A", "AAAA", "CNAME", "ALIAS", "MX", "TXT", "NS", "SRV", "CAA"}
KEYS_PER_PAGE = 3

CATALOG = [
    {"id": "hostingercom-domain-com", "name": ".COM Domain", "category": "DOMAIN",
     "metadata": None,
     "prices": [
         {"id": "hostingercom-domain-com-usd-1y", "name": "1 year", "currency": "USD",
          "price": 1799, "first_period_price": 999, "period": 1, "period_unit": "year"},
         {"id": "hostingercom-domain-com-usd-2y", "name": "2 years", "currency": "USD",
          "price": 3598, "first_period_price": 2797, "period": 2, "period_unit": "year"}]},
    {"id": "hostingercom-domain-io", "name": ".IO Domain", "category": "DOMAIN",
     "metadata": None,
     "prices": [
         {"id": "hostingercom-domain-io-usd-1y", "name": "1 year", "currency": "USD",
          "price": 5999, "period": 1, "period_unit": "year"}]},
    {"id": "hostingercom-vps-kvm2", "name": "KVM 2", "category": "VPS", "metadata": None,
     "prices": [
         {"id": "hostingercom-vps-kvm2-usd-1m", "name": "1 month", "currency": "USD",
          "price": 1299, "first_period_price": 699, "period": 1, "period_unit": "month"}]},
]

TAKEN = {"taken.com", "google.com"}


def ssh_string(b):
    return struct.pack(">I", len(b)) + b


def ed25519_blob(seed):
    return ssh_string(b"ssh-ed25519") + ssh_string(hashlib.sha256(str(seed).encode()).digest())


def ed25519_line(seed, comment=""):
    """An OpenSSH ssh-ed25519 public key line (a well-formed blob)."""
    line = "ssh-ed25519 " + base64.b64encode(ed25519_blob(seed)).decode()
    return line + (" " + comment if comment else "")


def fingerprint(line):
    blob = base64.b64decode(line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def default_zone(domain):
    return [
        {"name": "@", "type": "A", "ttl": 14400,
         "records": [{"content": "192.0.2.10", "is_disabled": False}]},
        {"name": "www", "type": "CNAME", "ttl": 300,
         "records": [{"content": domain, "is_disabled": False}]},
        {"name": "@", "type": "MX", "ttl": 14400,
         "records": [{"content": "5 mx1.hostinger.com", "is_disabled": False},
                     {"content": "10 mx2.hostinger.com", "is_disabled": False}]},
        {"name": "@", "type": "TXT", "ttl": 3600,
         "records": [{"content": "v=spf1 include:_spf.mail.hostinger.com ~all",
                      "is_disabled": False}]},
    ]


class State:
    def __init__(self):
        self.zones = {"example.com": default_zone("example.com"),
                      "shop.io": default_zone("shop.io")}
        self.portfolio = {
            "example.com": {"id": 101, "domain": "example.com", "type": "domain",
                            "status": "active", "created_at": "2024-01-10T10:00:00Z",
                            "expires_at": "2027-01-10T10:00:00Z", "is_locked": True,
                            "is_privacy_protected": False, "auto_renew": True,
                            "name_servers": {"ns1": "ns1.dns-parking.com",
                                             "ns2": "ns2.dns-parking.com"}},
            "shop.io": {"id": 102, "domain": "shop.io", "type": "domain", "status": "active",
                        "created_at": "2025-03-01T08:30:00Z",
                        "expires_at": "2026-03-01T08:30:00Z", "is_locked": False,
                        "is_privacy_protected": True, "auto_renew": False,
                        "name_servers": {"ns1": "ns1.dns-parking.com",
                                         "ns2": "ns2.dns-parking.com"}},
        }
        self.vms = {
            1001: {"id": 1001, "firewall_group_id": None, "subscription_id": "sub-1",
                   "data_center_id": 17, "plan": "KVM 2", "hostname": "srv1001.hstgr.cloud",
                   "state": "running", "actions_lock": "unlocked", "cpus": 2,
                   "memory": 8192, "disk": 102400, "bandwidth": 8192000,
                   "ns1": "153.92.2.6", "ns2": "1.1.1.1",
                   "ipv4": [{"id": 1, "address": "203.0.113.5", "ptr": "srv1001.hstgr.cloud"}],
                   "ipv6": [{"id": 2, "address": "2001:db8::5", "ptr": None}],
                   "template": {"id": 1002, "name": "Ubuntu 24.04 LTS",
                                "description": "Ubuntu 24.04", "documentation": None},
                   "created_at": "2025-02-27T11:54:22Z"},
        }
        self.keys = {}
        for i in range(1, 8):  # more than two pages
            self.keys[i] = {"id": i, "name": f"key{i}", "key": ed25519_line(i, f"k{i}")}
        self.next_id = 5000
        self.attached = {}
        self.payment_methods = [
            {"id": 9001, "name": "Credit Card", "identifier": "**** 4242",
             "payment_method": "card", "is_default": True, "is_expired": False,
             "is_suspended": False, "created_at": "2024-01-01T00:00:00Z",
             "expires_at": "2028-01-01T00:00:00Z"}]
        self.subscriptions = [
            {"id": "Azz5nTwTXd2Hk1Ccs", "name": "KVM 2", "status": "active",
             "billing_period": 1, "billing_period_unit": "month", "currency_code": "USD",
             "total_price": 1299, "renewal_price": 1499, "auto_renew": True,
             "created_at": "2025-02-27T11:54:22Z", "expires_at": "2026-02-27T11:54:22Z",
             "next_billing_at": "2026-01-27T11:54:22Z", "canceled_at": None}]
        self.datacenters = [
            {"id": 17, "name": "nl-srv-openstack", "location": "nl", "city": "Amsterdam",
             "continent": "Europe"},
            {"id": 21, "name": "us-srv-openstack", "location": "us", "city": "Boston",
             "continent": "North America"}]
        self.templates = [
            {"id": 1002, "name": "Ubuntu 24.04 LTS", "description": "Ubuntu 24.04",
             "documentation": None},
            {"id": 1010, "name": "Debian 12", "description": "Debian bookworm",
             "documentation": None}]

    def new_id(self):
        self.next_id += 1
        return self.next_id


class Fixture:
    def __init__(self, token="hst-test-token", certfile=None, keyfile=None):
        self.token = token
        self.state = State()
        self.log = []
        self.connections = 0
        self.forced = []  # [(prefix, status, body, headers)]
        self.lock = threading.Lock()
        fixture = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def process_request(self, request, client_address):
                with fixture.lock:
                    fixture.connections += 1
                # header and body leave in separate writes: without this,
                # Nagle holds the body until the client's delayed ACK
                request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                super().process_request(request, client_address)

        self.server = Server(("127.0.0.1", 0), _handler(self))
        self.tls = bool(certfile)
        if certfile:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(certfile, keyfile)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *a):
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def force(self, status, body=None, headers=None, times=1, prefix=""):
        """The next `times` requests whose path starts with prefix get this answer."""
        with self.lock:
            for _ in range(times):
                self.forced.append((prefix, status, body, headers or {}))

    def requests(self, method=None, prefix=""):
        with self.lock:
            return [r for r in self.log
                    if (method is None or r["method"] == method) and r["path"].startswith(prefix)]

    def clear_log(self):
        with self.lock:
            self.log.clear()


def _err(status, message, errors=None):
    b = {"message": message, "correlation_id": str(uuid.uuid4())}
    if errors:
        b["errors"] = errors
    return status, b


def _check_zone(body):
    """422 errors of a zone body, or None."""
    if not isinstance(body, dict):
        return {"zone": ["The zone field is required."]}
    zone = body.get("zone")
    if not isinstance(zone, list) or not zone:
        return {"zone": ["The zone field is required."]}
    errors = {}
    for i, s in enumerate(zone):
        if not isinstance(s, dict) or s.get("type") not in TYPES:
            errors[f"zone.{i}.type"] = ["The selected type is invalid."]
            continue
        if not isinstance(s.get("name"), str) or not s["name"]:
            errors[f"zone.{i}.name"] = ["The name field is required."]
        if "ttl" in s and (not isinstance(s["ttl"], int) or s["ttl"] < 60):
            errors[f"zone.{i}.ttl"] = ["The ttl must be at least 60."]
        recs = s.get("records")
        if not isinstance(recs, list) or not recs:
            errors[f"zone.{i}.records"] = ["The records field is required."]
            continue
        for k, r in enumerate(recs):
            c = r.get("content") if isinstance(r, dict) else None
            if not isinstance(c, str) or not c:
                errors[f"zone.{i}.records.{k}.content"] = ["The content field is required."]
                continue
            if s["type"] in ("A", "AAAA"):
                try:
                    ip = ipaddress.ip_address(c)
                    if (ip.version == 4) != (s["type"] == "A"):
                        raise ValueError
                except ValueError:
                    errors[f"zone.{i}.records.{k}.content"] = ["Invalid IP address."]
            if c == "reject.example":  # lets tests reach the upstream's own 422
                errors[f"zone.{i}.records.{k}.content"] = ["Upstream refuses this content."]
    return errors or None


def _apply_zone(zone_sets, body):
    overwrite = body.get("overwrite", True)  # the upstream's default: overwrite
    for s in body["zone"]:
        new = [{"content": r["content"], "is_disabled": False} for r in s["records"]]
        cur = next((x for x in zone_sets
                    if x["name"] == s["name"] and x["type"] == s["type"]), None)
        if cur is None:
            zone_sets.append({"name": s["name"], "type": s["type"],
                              "ttl": s.get("ttl", 14400), "records": new})
        elif overwrite:
            cur["records"] = new
            cur["ttl"] = s.get("ttl", cur["ttl"])
        else:
            for r in new:
                if all(r["content"] != o["content"] for o in cur["records"]):
                    cur["records"].append(r)
            cur["ttl"] = s.get("ttl", cur["ttl"])


def _metrics(date_from, date_to):
    base = 1735689600
    def series(unit, vals):
        return {"unit": unit, "usage": {str(base + 300 * i): v for i, v in enumerate(vals)}}
    return {
        "cpu_usage": series("%", [12.5, 40.0, 7.25]),
        "ram_usage": series("bytes", [1073741824, 2147483648, 1610612736]),
        "disk_space": series("bytes", [10737418240, 10737418240, 10737418241]),
        "outgoing_traffic": series("bytes", [1000, 2000, 3000]),
        "incoming_traffic": series("bytes", [4000, 5000, 6000]),
        "uptime": series("milliseconds", [3600000, 3900000, 4200000]),
    }


def _route(fx, method, path, query, body):
    st = fx.state
    parts = [p for p in path.split("/") if p]
    # /api/dns/v1/zones/{domain}[/validate|/reset]
    if parts[:4] == ["api", "dns", "v1", "zones"] and len(parts) >= 5:
        dom = parts[4]
        if dom not in st.zones:
            return _err(404, "Domain not found in your account.")
        zone = st.zones[dom]
        rest = parts[5:]
        if method == "GET" and not rest:
            return 200, zone
        if method == "PUT" and not rest:
            errs = _check_zone(body)
            if errs:
                return _err(422, "The given data was invalid.", errs)
            _apply_zone(zone, body)
            return 200, {"message": "Request accepted"}
        if method == "POST" and rest == ["validate"]:
            errs = _check_zone(body)
            if errs:
                return _err(422, "The given data was invalid.", errs)
            return 200, {"message": "Request accepted"}
        if method == "DELETE" and not rest:
            filters = body.get("filters") if isinstance(body, dict) else None
            if not isinstance(filters, list) or not filters:
                return _err(422, "The given data was invalid.",
                            {"filters": ["The filters field is required."]})
            for f in filters:
                zone[:] = [s for s in zone
                           if not (s["name"] == f.get("name") and s["type"] == f.get("type"))]
            return 200, {"message": "Request accepted"}
        if method == "POST" and rest == ["reset"]:
            st.zones[dom] = default_zone(dom)
            return 200, {"message": "Request accepted"}
    # domains
    if parts[:3] == ["api", "domains", "v1"]:
        rest = parts[3:]
        if rest == ["availability"] and method == "POST":
            if not isinstance(body, dict) or not isinstance(body.get("domain"), str) \
                    or "." in body["domain"] or not isinstance(body.get("tlds"), list):
                return _err(422, "The given data was invalid.",
                            {"domain": ["The domain must be a name without a TLD."]})
            out = []
            for t in body["tlds"]:
                full = f"{body['domain']}.{t}"
                out.append({"domain": full,
                            "is_available": full not in TAKEN and full not in st.portfolio,
                            "is_alternative": False, "restriction": None})
            out.append({"domain": body["domain"] + "-online.com", "is_available": True,
                        "is_alternative": True, "restriction": None})
            return 200, out
        if rest == ["portfolio"] and method == "GET":
            return 200, [{k: d[k] for k in ("id", "domain", "type", "status", "created_at",
                                            "expires_at")} for d in st.portfolio.values()]
        if rest == ["portfolio"] and method == "POST":
            prices = {p["id"] for it in CATALOG for p in it["prices"]}
            if not isinstance(body, dict) or body.get("item_id") not in prices:
                return _err(422, "The given data was invalid.",
                            {"item_id": ["The selected item id is invalid."]})
            dom = body.get("domain")
            if dom in st.portfolio or dom in TAKEN:
                return _err(422, "The given data was invalid.",
                            {"domain": ["Domain is not available."]})
            did = st.new_id()
            st.portfolio[dom] = {"id": did, "domain": dom, "type": "domain",
                                 "status": "pending_setup", "created_at": "2026-12-07T12:00:00Z",
                                 "expires_at": "2027-12-07T12:00:00Z", "is_locked": False,
                                 "is_privacy_protected": False, "auto_renew": True,
                                 "name_servers": {"ns1": "ns1.dns-parking.com",
                                                  "ns2": "ns2.dns-parking.com"}}
            st.zones[dom] = default_zone(dom)
            return 200, {"id": st.new_id(), "subscription_id": "sub-d", "status": "completed",
                         "currency": "USD", "subtotal": 999, "total": 999,
                         "billing_address": None, "created_at": "2026-12-07T12:00:00Z",
                         "updated_at": "2026-12-07T12:00:00Z"}
        if len(rest) >= 2 and rest[0] == "portfolio":
            dom = rest[1]
            if dom not in st.portfolio:
                return _err(404, "Domain not found.")
            d = st.portfolio[dom]
            if len(rest) == 2 and method == "GET":
                return 200, d
            if rest[2:] == ["nameservers"] and method == "PUT":
                if not isinstance(body, dict) or not body.get("ns1") or not body.get("ns2"):
                    return _err(422, "The given data was invalid.",
                                {"ns2": ["The ns2 field is required."]})
                d["name_servers"] = {k: body[k] for k in ("ns1", "ns2", "ns3", "ns4")
                                     if body.get(k)}
                return 200, {"message": "Request accepted"}
            if rest[2:] == ["domain-lock"] and method in ("PUT", "DELETE"):
                d["is_locked"] = method == "PUT"
                return 200, {"message": "Request accepted"}
            if rest[2:] == ["privacy-protection"] and method in ("PUT", "DELETE"):
                d["is_privacy_protected"] = method == "PUT"
                return 200, {"message": "Request accepted"}
    # VPS
    if parts[:3] == ["api", "vps", "v1"]:
        rest = parts[3:]
        if rest == ["data-centers"] and method == "GET":
            return 200, st.datacenters
        if rest == ["templates"] and method == "GET":
            return 200, st.templates
        if rest == ["virtual-machines"] and method == "GET":
            return 200, list(st.vms.values())
        if rest == ["virtual-machines"] and method == "POST":
            setup = body.get("setup") if isinstance(body, dict) else None
            errs = {}
            if not isinstance(body, dict) or body.get("item_id") not in \
                    {p["id"] for it in CATALOG if it["category"] == "VPS" for p in it["prices"]}:
                errs["item_id"] = ["The selected item id is invalid."]
            if not isinstance(setup, dict) or not isinstance(setup.get("template_id"), int):
                errs["setup.template_id"] = ["The setup.template id must be an integer."]
            if not isinstance(setup, dict) or setup.get("data_center_id") not in \
                    [d["id"] for d in st.datacenters]:
                errs["setup.data_center_id"] = ["The selected data center is invalid."]
            if errs:
                return _err(422, "The given data was invalid.", errs)
            vid = st.new_id()
            tpl = next((t for t in st.templates if t["id"] == setup["template_id"]),
                       st.templates[0])
            vm = {"id": vid, "data_center_id": setup["data_center_id"], "plan": "KVM 2",
                  "hostname": setup.get("hostname") or f"srv{vid}.hstgr.cloud",
                  "state": "initial", "cpus": 2, "memory": 8192, "disk": 102400,
                  "bandwidth": 8192000, "ipv4": [{"id": vid, "address": "203.0.113.9"}],
                  "ipv6": [], "template": tpl, "created_at": "2026-12-07T12:00:00Z"}
            st.vms[vid] = vm
            return 200, {"order": {"id": st.new_id(), "status": "completed"},
                         "virtual_machine": vm}
        if len(rest) >= 2 and rest[0] == "virtual-machines":
            try:
                vid = int(rest[1])
            except ValueError:
                return _err(404, "Virtual machine not found.")
            vm = st.vms.get(vid)
            if vm is None:
                return _err(404, "Virtual machine not found.")
            if len(rest) == 2 and method == "GET":
                return 200, vm
            if len(rest) == 3 and rest[2] in ("start", "stop", "restart") and method == "POST":
                vm["state"] = {"start": "running", "stop": "stopped",
                               "restart": "running"}[rest[2]]
                return 200, {"id": st.new_id(), "name": rest[2], "state": "success",
                             "created_at": "2026-12-07T12:00:00Z",
                             "updated_at": "2026-12-07T12:00:00Z"}
            if rest[2:] == ["metrics"] and method == "GET":
                if "date_from" not in query or "date_to" not in query:
                    return _err(422, "The given data was invalid.",
                                {"date_from": ["The date from field is required."]})
                return 200, _metrics(query["date_from"][0], query["date_to"][0])
        if rest and rest[0] == "public-keys":
            if len(rest) == 1 and method == "GET":
                page = int(query.get("page", ["1"])[0])
                keys = sorted(st.keys.values(), key=lambda k: k["id"])
                chunk = keys[(page - 1) * KEYS_PER_PAGE: page * KEYS_PER_PAGE]
                return 200, {"data": chunk, "meta": {"current_page": page,
                                                     "per_page": KEYS_PER_PAGE,
                                                     "total": len(keys)}}
            if len(rest) == 1 and method == "POST":
                if not isinstance(body, dict) or not body.get("name") or not body.get("key"):
                    return _err(422, "The given data was invalid.",
                                {"key": ["The key field is required."]})
                kid = st.new_id()
                st.keys[kid] = {"id": kid, "name": body["name"], "key": body["key"]}
                return 200, st.keys[kid]
            if len(rest) == 2 and method == "DELETE":
                try:
                    kid = int(rest[1])
                except ValueError:
                    kid = -1
                if kid not in st.keys:
                    return _err(404, "Public key not found.")
                del st.keys[kid]
                return 200, {"message": "Request accepted"}
            if len(rest) == 3 and rest[1] == "attach" and method == "POST":
                vid = int(rest[2]) if rest[2].isdigit() else -1
                if vid not in st.vms:
                    return _err(404, "Virtual machine not found.")
                ids = body.get("ids") if isinstance(body, dict) else None
                if not isinstance(ids, list) or not ids or \
                        any(not isinstance(i, int) or i not in st.keys for i in ids):
                    return _err(422, "The given data was invalid.",
                                {"ids": ["The selected ids are invalid."]})
                st.attached.setdefault(vid, []).extend(ids)
                return 200, {"id": st.new_id(), "name": "ssh_key_attach", "state": "success"}
    if parts[:3] == ["api", "billing", "v1"]:
        rest = parts[3:]
        if rest == ["catalog"] and method == "GET":
            cat = query.get("category", [None])[0]
            return 200, [it for it in CATALOG if cat is None or it["category"] == cat]
        if rest == ["subscriptions"] and method == "GET":
            return 200, st.subscriptions
        if rest == ["payment-methods"] and method == "GET":
            return 200, st.payment_methods
    return _err(404, "Route not found.")


def _handler(fx):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def _answer(self, status, body, headers=None):
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _any(self):
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = "<not json>"
            u = urlsplit(self.path)
            query = parse_qs(u.query)
            if u.path == "/_fixture/log":  # for tests in other processes (tests/ui)
                with fx.lock:
                    return self._answer(200, list(fx.log))
            entry = {"method": self.command, "path": u.path, "query": query, "body": body,
                     "authorization": self.headers.get("Authorization"),
                     "content_type": self.headers.get("Content-Type"), "time": time.time()}
            with fx.lock:
                fx.log.append(entry)
                forced = None
                for i, f in enumerate(fx.forced):
                    if u.path.startswith(f[0]):
                        forced = fx.forced.pop(i)
                        break
            if forced:
                _, status, fbody, fheaders = forced
                if fbody is None:
                    fbody = {"message": f"forced {status}", "correlation_id": str(uuid.uuid4())}
                return self._answer(status, fbody, fheaders)
            if self.headers.get("Authorization") != "Bearer " + fx.token:
                return self._answer(*_err(401, "Unauthenticated."))
            with fx.lock:
                status, out = _route(fx, self.command, u.path, query, body)
                out = copy.deepcopy(out)
            self._answer(status, out)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

    return H


if __name__ == "__main__":  # a fixture to poke at by hand
    import sys
    with Fixture(token=sys.argv[1] if len(sys.argv) > 1 else "hst-test-token") as f:
        print(f.url, flush=True)
        threading.Event().wait()
