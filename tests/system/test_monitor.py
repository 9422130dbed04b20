"""GET /api/monitor/disk against real mounts: the panel runs in a private
mount namespace where a loop-mounted ext4 image sits on a mount point with
a space in its name (kept intact, unlike the reference's df parsing) and a
tmpfs is mounted too (not listed). Everything disappears with the namespace."""
import os
import shutil
import subprocess

import pytest

from conftest import Panel


def need(tmp):
    if os.geteuid() != 0:
        pytest.skip("needs root (mount namespace, loop device)")
    for tool in ("unshare", "mount", "mkfs.ext4"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed")
    img = os.path.join(tmp, "disk.img")
    with open(img, "wb") as f:
        f.truncate(64 * 1024 * 1024)
    r = subprocess.run(["mkfs.ext4", "-q", "-F", img], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        pytest.skip("mkfs.ext4 failed: " + r.stderr.strip())
    probe = os.path.join(tmp, "probe")
    os.mkdir(probe)
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        'mount -o loop "$1" "$2" && umount "$2"', "sh", img, probe],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        pytest.skip("cannot loop-mount in a mount namespace: " + r.stderr.strip())
    return img


def test_disk_mount_point_with_space(tmp_path):
    tmp = str(tmp_path)
    img = need(tmp)
    disk_mp = os.path.join(tmp, "backup disk")
    tmpfs_mp = os.path.join(tmp, "scratch space")
    os.mkdir(disk_mp)
    os.mkdir(tmpfs_mp)
    script = ('mount -o loop "$1" "$2" && mount -t tmpfs -o size=8m tmpfs "$3" '
              '&& shift 3 && exec "$@"')
    os.makedirs(os.path.join(tmp, "panel"))
    p = Panel(os.path.join(tmp, "panel"),
              wrap=["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", img,
                    disk_mp, tmpfs_mp])
    p.start()
    try:
        tok = p.login()
        r = p.request("GET", "/api/monitor/disk", token=tok)
        assert r.status_code == 200, r.text
        rows = {e["mount_point"]: e for e in r.json()}
        assert disk_mp in rows, rows.keys()
        e = rows[disk_mp]
        assert e["filesystem"].startswith("/dev/loop"), e
        # 64 MiB ext4: size shown like df -h ("55M"-ish), rounded up, one letter suffix
        assert e["size"].endswith("M") and 40 <= float(e["size"][:-1]) <= 64, e
        assert e["use_percent"].endswith("%"), e
        assert tmpfs_mp not in rows, rows.keys()
        assert "/" in rows
    finally:
        assert p.stop() == 0, p.read_log()
    # the mounts lived only in the panel's namespace
    with open("/proc/self/mountinfo") as f:
        assert "backup\\040disk" not in f.read()
