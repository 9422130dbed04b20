"""Issue 15: assets are sent gzipped to clients that take it, with an ETag,
so a repeat view downloads nothing (304); an unknown URL in a browser gets
the UI's own "Page not found" (the app shell, 404), API clients JSON."""
import gzip


def test_gzip_etag_and_304(panel):
    r = panel.request("GET", "/css/style.css", headers={"Accept-Encoding": "gzip"}, stream=True)
    assert r.status_code == 200
    assert r.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in r.headers["Vary"]
    raw = r.raw.read(decode_content=False)
    assert int(r.headers["Content-Length"]) == len(raw)
    css = gzip.decompress(raw)
    assert b".btn-primary" in css
    etag = r.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('-gz"')
    assert r.headers["Cache-Control"] == "no-cache"
    # identity: the same bytes, another tag
    r2 = panel.request("GET", "/css/style.css", headers={"Accept-Encoding": "identity"})
    assert r2.status_code == 200 and "Content-Encoding" not in r2.headers
    assert r2.content == css
    assert r2.headers["ETag"] != etag
    # a repeat view downloads nothing
    r3 = panel.request("GET", "/css/style.css",
                       headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert r3.status_code == 304 and r3.content == b""
    assert r3.headers["ETag"] == etag
    r4 = panel.request("GET", "/css/style.css",
                       headers={"Accept-Encoding": "identity", "If-None-Match": r2.headers["ETag"]})
    assert r4.status_code == 304
    # a changed file (another tag) is sent again
    r5 = panel.request("GET", "/css/style.css", headers={"If-None-Match": '"0000000000000000"'})
    assert r5.status_code == 200


def test_pages_revalidate_with_the_same_security_headers(panel):
    r = panel.request("GET", "/login", headers={"Accept": "text/html", "Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["ETag"]
    r2 = panel.request("GET", "/login", headers={"Accept": "text/html", "Accept-Encoding": "gzip",
                                                   "If-None-Match": r.headers["ETag"]})
    assert r2.status_code == 304
    # a 304 updates the cached headers: it must carry the page's CSP, not the API's
    assert r2.headers["Content-Security-Policy"] == r.headers["Content-Security-Policy"]


def test_unknown_url_in_a_browser_gets_the_ui(panel):
    r = panel.request("GET", "/no/such/page", headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("text/html")
    assert b'id="content"' in r.content
    r = panel.request("GET", "/no/such/page")
    assert r.status_code == 404 and r.json() == {"error": "not found"}
    r = panel.request("POST", "/no/such/page", headers={"Accept": "text/html"})
    assert r.status_code == 404
