"""A throw-away systemd container for system tests: systemd-nspawn --boot of
an overlay of the host's own root (tmpfs upper layer, private network), as
in /work/shared/testing/system-peers.md §1(a). Inside, systemd, journald and
D-Bus are real; nothing of it reaches the host.

    from container import Container, container_unavailable
    reason = container_unavailable()
    if reason: pytest.skip(reason)
    with Container(binds=[build_dir], shared=[tmp_dir]) as c:
        c.run(["systemctl", "is-system-running"])     # runs inside
        with c.netns():                               # sockets made here live
            sock = socket.create_connection(...)      # in the container's network

Everything is undone on exit (poweroff, cgroups, mounts, temp dir), also
after a failed boot."""
import ctypes
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

NSPAWN = "/usr/bin/systemd-nspawn"
NSENTER = "/usr/bin/nsenter"
CGROUP_ROOTS = ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified")
CLONE_NEWNET = 0x40000000

# Units of the host that must not run in the copy: noisy, slow, or holding
# state (the container has its own network, so nginx & co are harmless).
MASKED_UNITS = (
    "postgresql.service", "avahi-daemon.service", "avahi-daemon.socket", "apt-daily.timer",
    "apt-daily-upgrade.timer", "certbot.timer", "systemd-timesyncd.service", "e2scrub_all.timer",
    "e2scrub_reap.service", "fstrim.timer", "man-db.timer", "dpkg-db-backup.timer",
    "getty@tty1.service", "systemd-pstore.service", "console-getty.service",
)


# The panel's config for the container's own nginx.service and systemd (the
# overlay's /etc), as on a real install: part of a ContainerPanel's extra.
SYSTEM_CONFIG = {
    "nginx": {"sites_available": "/etc/nginx/sites-available",
              "sites_enabled": "/etc/nginx/sites-enabled",
              "snippets": "/etc/nginx/snippets", "webroot": "/var/www",
              "certbot_webroot": "/var/www/certbot", "binary": "/usr/sbin/nginx",
              "conf": "/etc/nginx/nginx.conf", "reload": "systemd",
              "http_port": 80, "https_port": 443},
    "systemd": {"unit_dir": "/etc/systemd/system"},
}


def container_unavailable():
    """None when a container can be booted here, else why not."""
    if os.geteuid() != 0:
        return "needs root"
    for tool in (NSPAWN, NSENTER):
        if not os.access(tool, os.X_OK):
            return f"{tool} is missing (package systemd-container / util-linux)"
    if not os.path.exists("/lib/systemd/systemd"):
        return "no systemd on this machine"
    if not all(os.path.isdir(d) for d in CGROUP_ROOTS):
        return "no hybrid cgroup hierarchy at " + " / ".join(CGROUP_ROOTS)
    with open("/proc/filesystems") as f:
        if "overlay" not in f.read():
            return "no overlayfs"
    return None


def _raise_on_sigterm(signum, frame):
    raise KeyboardInterrupt("SIGTERM")


def _run(argv, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 60)
    return subprocess.run(argv, **kw)


class Container:
    def __init__(self, binds=(), binds_ro=(), shared=(), boot_timeout=60):
        """binds/binds_ro: host directories visible at the same path inside
        (read-write / read-only); shared: alias of binds."""
        self.name = "setec-" + secrets.token_hex(4)
        self.binds = list(binds) + list(shared)
        self.binds_ro = list(binds_ro)
        self.boot_timeout = boot_timeout
        self.sandbox = None
        self.merged = None
        self.proc = None
        self.leader = None
        self._mounts = []
        self._cgroup = "sbx-nspawn-" + self.name

    # ---- lifecycle ----

    def __enter__(self):
        # a SIGTERM (timeout, CI cancel) unwinds through __exit__ too
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            with contextlib.suppress(ValueError):  # not the main thread
                signal.signal(signal.SIGTERM, _raise_on_sigterm)
        try:
            self.boot()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def _mount(self, argv, target):
        r = _run(["mount", *argv, target])
        if r.returncode != 0:
            raise RuntimeError(f"mount {argv} {target}: {r.stderr.strip()}")
        self._mounts.append(target)

    def boot(self):
        self.sandbox = tempfile.mkdtemp(prefix="setec-ctr-")
        t = os.path.join(self.sandbox, "t")
        self.merged = os.path.join(self.sandbox, "merged")
        os.makedirs(t)
        os.makedirs(self.merged)
        # upper on tmpfs: an upper dir inside the lower (/) is "overlapping"
        self._mount(["-t", "tmpfs", "-o", "size=2g,mode=700", "tmpfs"], t)
        os.makedirs(os.path.join(t, "upper"))
        os.makedirs(os.path.join(t, "work"))
        self._mount(["-t", "overlay", "-o", f"lowerdir=/,upperdir={t}/upper,workdir={t}/work",
                     "overlay"], self.merged)
        etc = os.path.join(self.merged, "etc", "systemd", "system")
        for u in MASKED_UNITS:
            p = os.path.join(etc, u)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(p)
            os.symlink("/dev/null", p)
        # inside, packages and units behave as on a real machine
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self.merged, "usr", "sbin", "policy-rc.d"))
        for root in CGROUP_ROOTS:
            os.makedirs(os.path.join(root, self._cgroup), exist_ok=True)
        cg = self._cgroup

        def into_cgroup():
            # nspawn's payload/supervisor cgroups then nest under ours
            for root in CGROUP_ROOTS:
                with open(os.path.join(root, cg, "cgroup.procs"), "w") as f:
                    f.write(str(os.getpid()))
            os.setsid()

        argv = [NSPAWN, "-D", self.merged, "-M", self.name, "--boot", "--register=no",
                "--keep-unit", "--private-network", "--console=pipe", "-q"]
        argv += [f"--bind={d}:{d}" for d in self.binds]
        argv += [f"--bind-ro={d}:{d}" for d in self.binds_ro]
        self.log_path = os.path.join(self.sandbox, "nspawn.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, preexec_fn=into_cgroup)
        deadline = time.monotonic() + self.boot_timeout
        while self.leader is None:
            if self.proc.poll() is not None:
                raise RuntimeError("nspawn exited:\n" + self.read_log())
            self.leader = self._find_leader()
            if time.monotonic() > deadline:
                raise RuntimeError("container PID 1 did not appear:\n" + self.read_log())
            time.sleep(0.02)
        while True:
            r = self.run(["systemctl", "is-system-running"], timeout=10)
            state = r.stdout.strip()
            if state in ("running", "degraded"):
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"container not up (state {state!r}):\n" + self.read_log())
            time.sleep(0.05)

    def _find_leader(self):
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            if ppid == self.proc.pid and comm == "systemd":
                return int(pid)
        return None

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except (OSError, AttributeError):
            return ""

    def stop(self):
        """Power off and undo everything (safe to call twice)."""
        if self.proc is not None:
            if self.proc.poll() is None and self.leader:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.leader, signal.SIGRTMIN + 4)  # poweroff
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
            self._log.close()
            self.proc = None
        for root in CGROUP_ROOTS:
            top = os.path.join(root, self._cgroup)
            if os.path.isdir(top):
                for d, _, _ in sorted(os.walk(top), key=lambda x: -len(x[0])):
                    with contextlib.suppress(OSError):
                        os.rmdir(d)
        shutil.rmtree(f"/run/systemd/nspawn/propagate/{self.name}", ignore_errors=True)
        for m in reversed(self._mounts):
            r = _run(["umount", m])
            if r.returncode != 0:
                _run(["umount", "-l", m])
        self._mounts = []
        if self.sandbox:
            shutil.rmtree(self.sandbox, ignore_errors=True)
            self.sandbox = None

    # ---- talking to it ----

    def nsenter(self, *namespaces):
        """argv prefix running a program inside: all namespaces by default,
        else the nsenter options given ("-m", "-n", ...: one per argument,
        nsenter would read "-mn" as a file name for -m)."""
        return [NSENTER, "-t", str(self.leader), *(namespaces or ("-a",)), "--"]

    def run(self, argv, check=False, timeout=60, **kw):
        """Run argv inside the container; a CompletedProcess (text)."""
        r = _run([*self.nsenter(), *argv], timeout=timeout, **kw)
        if check and r.returncode != 0:
            raise RuntimeError(f"{argv} -> {r.returncode}: {r.stdout}{r.stderr}")
        return r

    def path(self, p):
        """The host path of the container's p (through the overlay)."""
        return os.path.join(self.merged, p.lstrip("/"))

    @contextlib.contextmanager
    def netns(self):
        """Put the calling thread into the container's network namespace:
        sockets created meanwhile (127.0.0.1 included) are the container's,
        and keep working after the block."""
        libc = ctypes.CDLL(None, use_errno=True)
        mine = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        theirs = os.open(f"/proc/{self.leader}/ns/net", os.O_RDONLY)
        try:
            if libc.setns(theirs, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns into the container")
            try:
                yield
            finally:
                if libc.setns(mine, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns back to the host")
        finally:
            os.close(mine)
            os.close(theirs)
