#include "sys/sandbox.h"

#include "base/util.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define SANDBOX_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_ARCH AUDIT_ARCH_AARCH64
#endif

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

/* clone flags that make a namespace */
#define NS_FLAGS                                                                                   \
        (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |             \
         CLONE_NEWPID | CLONE_NEWNET)

static const int denied[] = {
    __NR_execve,
    __NR_execveat,
    __NR_unshare,
    __NR_setns,
    __NR_io_uring_setup,
    __NR_io_uring_enter,
    __NR_io_uring_register,
    __NR_bpf,
    __NR_perf_event_open,
    __NR_userfaultfd,
    __NR_keyctl,
    __NR_add_key,
    __NR_request_key,
#if !defined(__SANITIZE_ADDRESS__)
    /* LeakSanitizer stops the threads with ptrace at exit */
    __NR_ptrace,
#endif
    __NR_process_vm_readv,
    __NR_process_vm_writev,
    __NR_mount,
    __NR_umount2,
    __NR_pivot_root,
    __NR_chroot,
    __NR_open_tree,
    __NR_move_mount,
    __NR_fsopen,
    __NR_fsconfig,
    __NR_fsmount,
    __NR_fspick,
    __NR_mount_setattr,
    __NR_init_module,
    __NR_finit_module,
    __NR_delete_module,
    __NR_kexec_load,
    __NR_kexec_file_load,
    __NR_reboot,
    __NR_swapon,
    __NR_swapoff,
    __NR_acct,
    __NR_quotactl,
    __NR_settimeofday,
    __NR_clock_settime,
    __NR_clock_adjtime,
    __NR_adjtimex,
    __NR_sethostname,
    __NR_setdomainname,
    __NR_syslog,
    __NR_name_to_handle_at,
    __NR_open_by_handle_at,
#if defined(__x86_64__)
    __NR_iopl,
    __NR_ioperm,
    __NR_uselib,
#endif
};

#define RET(v)  ((struct sock_filter)BPF_STMT(BPF_RET | BPF_K, (v)))
#define DENY(e) RET(SECCOMP_RET_ERRNO | ((e)&SECCOMP_RET_DATA))
#define LOAD(field)                                                                                \
        ((struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,                                    \
                                      offsetof(struct seccomp_data, field)))
#define JUMP(op, v, t, f) ((struct sock_filter)BPF_JUMP(BPF_JMP | (op) | BPF_K, (v), (t), (f)))
#define JEQ(v, t, f)      JUMP(BPF_JEQ, (v), (t), (f))
#define SKIP_UNLESS(v, n) JEQ((v), 0, (n))

int sandbox_http_process(void)
{
#ifndef SANDBOX_ARCH
        return -EOPNOTSUPP;
#else
        struct sock_filter prog[16 + 2 * ARRAY_SIZE(denied)];
        size_t n = 0;
        prog[n++] = LOAD(arch);
        prog[n++] = JEQ(SANDBOX_ARCH, 1, 0); /* ours: over the kill */
        prog[n++] = RET(SECCOMP_RET_KILL_PROCESS);
        prog[n++] = LOAD(nr);
#if defined(__x86_64__)
        prog[n++] = JUMP(BPF_JGE, __X32_SYSCALL_BIT, 0, 1);
        prog[n++] = RET(SECCOMP_RET_KILL_PROCESS);
#endif
        prog[n++] = SKIP_UNLESS(__NR_clone3, 1);
        prog[n++] = DENY(ENOSYS);
        /* clone: threads and fork yes, new namespaces no */
        prog[n++] = SKIP_UNLESS(__NR_clone, 4);
        prog[n++] = LOAD(args[0]); /* the low word: the flags (little-endian) */
        prog[n++] = JUMP(BPF_JSET, NS_FLAGS, 0, 1);
        prog[n++] = DENY(EPERM);
        prog[n++] = RET(SECCOMP_RET_ALLOW);
        for (size_t i = 0; i < ARRAY_SIZE(denied); i++) {
                prog[n++] = SKIP_UNLESS((unsigned)denied[i], 1);
                prog[n++] = DENY(EPERM);
        }
        prog[n++] = RET(SECCOMP_RET_ALLOW);

        struct sock_fprog fp = {.len = (unsigned short)n, .filter = prog};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        /* TSYNC: the threads already running (none should be) get it too */
        if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fp) != 0)
                return errno ? -errno : -EIO;
        return 0;
#endif
}
