"""Issue 15: POST /api/monitor/services/{name}/{action} starts, stops or
restarts one of the monitored units (admin), nothing else."""

PANEL_MANY_LOGINS = True


def err(r, status, contains=None):
    assert r.status_code == status, (r.status_code, r.text)
    assert set(r.json()) == {"error"}
    if contains:
        assert contains in r.json()["error"], r.json()


def test_only_monitored_units_and_known_actions(panel, admin_token):
    names = [s["name"] for s in panel.request("GET", "/api/monitor/services", token=admin_token).json()]
    assert names, "no monitored services configured"
    err(panel.request("POST", "/api/monitor/services/sshd.service/restart", token=admin_token),
        404, "monitored")
    err(panel.request("POST", "/api/monitor/services/..%2Fetc/restart", token=admin_token), 404)
    err(panel.request("POST", f"/api/monitor/services/{names[0]}/kill", token=admin_token),
        400, "start, stop or restart")
    # without systemd here the bus answers nothing: a clear error, not a hang
    r = panel.request("POST", f"/api/monitor/services/{names[0]}/restart", token=admin_token,
                      timeout=90)
    assert r.status_code in (200, 404, 502), r.text
    if r.status_code == 200:
        assert r.json()["status"] == "restarted" and r.json()["name"] == names[0]
    else:
        assert names[0] in r.json()["error"]


def test_viewer_cannot_control(panel, admin_token):
    panel.create_user(admin_token, "svc_viewer", "pw-viewer-1", "viewer")
    v = panel.login("svc_viewer", "pw-viewer-1")
    names = [s["name"] for s in panel.request("GET", "/api/monitor/services", token=v).json()]
    err(panel.request("POST", f"/api/monitor/services/{names[0]}/stop", token=v), 403)
