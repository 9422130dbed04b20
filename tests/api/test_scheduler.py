"""The scheduler: the seeded ssl_renew job (visible in the database and in
GET /api/scheduler/jobs), run-now, roles, unknown ids, and what a restart
does to rows it finds (malformed schedules, missing next_run, job types
without a handler)."""
import datetime
import os
import sqlite3

PANEL_MANY_LOGINS = True


def parse_time(s):
    assert s.endswith("Z") and len(s) == 20, s
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def jobs(p, tok):
    r = p.request("GET", "/api/scheduler/jobs", token=tok)
    assert r.status_code == 200, r.text
    assert isinstance(r.json(), list)
    return r.json()


def ssl_job(p, tok):
    found = [j for j in jobs(p, tok) if j["job_type"] == "ssl_renew"]
    assert len(found) == 1, found
    return found[0]


def test_ssl_renew_is_seeded(panel, admin_token):
    j = ssl_job(panel, admin_token)
    assert set(j) == {"id", "site_id", "job_type", "schedule", "enabled", "last_run", "next_run",
                      "has_handler", "schedule_error", "keep"}
    assert j["keep"] is None
    assert j["schedule"] == "17 3,15 * * *"
    assert j["enabled"] is True and j["site_id"] is None and j["has_handler"] is True
    assert j["schedule_error"] is None
    nxt = parse_time(j["next_run"])
    assert now() < nxt <= now() + datetime.timedelta(hours=12, minutes=1)
    assert nxt.minute == 17 and nxt.hour in (3, 15)
    # visible in the database itself
    rows = panel.query("SELECT id, site_id, job_type, schedule, enabled, next_run FROM cron_jobs"
                       " WHERE job_type = 'ssl_renew'")
    assert rows == [(j["id"], None, "ssl_renew", "17 3,15 * * *", 1, j["next_run"])]


def test_run_now_updates_last_run(panel, admin_token):
    j = ssl_job(panel, admin_token)
    before = now().replace(microsecond=0)
    r = panel.request("POST", f"/api/scheduler/jobs/{j['id']}/run", token=admin_token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == j["id"] and body["job_type"] == "ssl_renew"
    # no site has a certificate: nothing to renew, and that is a success
    assert body["ok"] is True and body["result"] == 0 and body["error"] is None
    assert before <= parse_time(body["last_run"]) <= now()
    assert body["next_run"] == j["next_run"]
    after = ssl_job(panel, admin_token)
    assert after["last_run"] == body["last_run"]
    assert after["next_run"] == j["next_run"]
    assert panel.query("SELECT last_run FROM cron_jobs WHERE id = ?", j["id"]) == [
        (body["last_run"],)]
    # the run is audited like every admin change
    assert panel.query("SELECT username FROM audit_log WHERE action = ?",
                       f"POST /api/scheduler/jobs/{j['id']}/run") == [("admin",)]


def test_unknown_and_bad_ids(panel, admin_token):
    r = panel.request("POST", "/api/scheduler/jobs/999999/run", token=admin_token)
    assert r.status_code == 404 and "999999" in r.json()["error"]
    for bad in ("abc", "0", "-1", "1.5"):
        r = panel.request("POST", f"/api/scheduler/jobs/{bad}/run", token=admin_token)
        assert r.status_code in (400, 404), (bad, r.status_code)
        if r.status_code == 400:
            assert "id" in r.json()["error"]


def test_roles(panel, admin_token):
    panel.create_user(admin_token, "schedviewer", "viewer-pass-123", role="viewer")
    vt = panel.login("schedviewer", "viewer-pass-123")
    j = ssl_job(panel, vt)  # a viewer may look
    last = j["last_run"]
    r = panel.request("POST", f"/api/scheduler/jobs/{j['id']}/run", token=vt)
    assert r.status_code == 403, r.text
    assert ssl_job(panel, admin_token)["last_run"] == last
    # nobody without a session
    assert panel.request("GET", "/api/scheduler/jobs").status_code == 401
    assert panel.request("POST", f"/api/scheduler/jobs/{j['id']}/run").status_code == 401


def test_dashboard_has_no_warnings_without_failures(panel, admin_token):
    info = panel.request("GET", "/api/system/info", token=admin_token).json()
    assert info["warnings"] == []


def test_restart_keeps_one_seed_and_fixes_rows(fresh_panel):
    p = fresh_panel()
    tok = p.login()
    seeded = ssl_job(p, tok)
    assert p.stop() == 0
    db = sqlite3.connect(os.path.join(p.data_dir, "setec.db"))
    with db:
        db.execute("INSERT INTO cron_jobs (job_type, schedule, enabled, next_run) VALUES"
                   " ('cleanup', '0 25 * * *', 1, '2020-01-01T00:00:00Z')")
        db.execute("INSERT INTO cron_jobs (job_type, schedule, enabled, next_run) VALUES"
                   " ('git_pull', '*/5 * * * *', 1, NULL)")
        db.execute("INSERT INTO cron_jobs (job_type, schedule, enabled, next_run) VALUES"
                   " ('restart', '0 4 * * *', 0, NULL)")
    db.close()
    p.start()
    tok = p.login()
    by_type = {j["job_type"]: j for j in jobs(p, tok)}
    # seeded once, untouched by the restart
    assert by_type["ssl_renew"]["id"] == seeded["id"]
    assert by_type["ssl_renew"]["next_run"] == seeded["next_run"]
    assert p.query("SELECT COUNT(*) FROM cron_jobs WHERE job_type = 'ssl_renew'") == [(1,)]
    # a malformed schedule: disabled, the reason shown and logged
    bad = by_type["cleanup"]
    assert bad["enabled"] is False and bad["next_run"] is None
    assert "hour: 25 is out of range 0-23" in bad["schedule_error"]
    assert p.wait_log(r"job %d \(cleanup\) disabled: malformed schedule" % bad["id"])
    # missing next_run computed; no handler for git_pull
    gp = by_type["git_pull"]
    assert gp["enabled"] is True and gp["has_handler"] is False
    nxt = parse_time(gp["next_run"])
    assert now() < nxt <= now() + datetime.timedelta(minutes=6) and nxt.minute % 5 == 0
    # a disabled row stays as it is
    assert by_type["restart"]["enabled"] is False and by_type["restart"]["next_run"] is None
    # run-now of a type without a handler: nothing runs
    r = p.request("POST", f"/api/scheduler/jobs/{gp['id']}/run", token=tok)
    assert r.status_code == 409 and "git_pull" in r.json()["error"]
    assert p.query("SELECT last_run FROM cron_jobs WHERE id = ?", gp["id"]) == [(None,)]
    # run-now of the malformed one
    r = p.request("POST", f"/api/scheduler/jobs/{bad['id']}/run", token=tok)
    assert r.status_code == 409 and "hour: 25" in r.json()["error"]


def test_stop_is_prompt(fresh_panel):
    """The scheduler sleeps up to 30 s between ticks: SIGTERM must not wait."""
    import time
    p = fresh_panel()
    p.login()
    t0 = time.monotonic()
    assert p.stop() == 0
    assert time.monotonic() - t0 < 5
