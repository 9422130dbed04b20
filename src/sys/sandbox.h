/* The HTTP process's seccomp filter (issue 11: the unprivileged side parses
 * TLS, HTTP, JSON and SQL for everyone, so what a flaw there could reach is
 * cut down further than the user switch alone does).
 *
 * A deny list, not an allow list: libc, GnuTLS, SQLite, libmicrohttpd,
 * libusb and sd-bus make system calls that change between versions, and an
 * allow list that misses one kills the panel on somebody's server. What is
 * denied is what the HTTP process never needs and what turns a code-execution
 * flaw into more: starting programs (every program runs in the root helper
 * or its children), new namespaces (unprivileged user namespaces are the
 * usual way into kernel attack surface), io_uring (its operations bypass
 * seccomp), bpf, perf, userfaultfd, keyrings, ptrace and the cross-process
 * memory calls, mounts, modules, kexec, reboot, swap, clock and host name
 * changes. Denied calls fail with EPERM (clone3 with ENOSYS, so that libc
 * falls back to clone, whose flags the filter can see); a system call of
 * another ABI (x32, or int 0x80 on x86-64) kills the process. */
#pragma once

/* Installs the filter on the calling process (all its threads, later
 * threads and children too) after setting no_new_privs. -errno;
 * -EOPNOTSUPP on an architecture the filter does not know. */
int sandbox_http_process(void);
