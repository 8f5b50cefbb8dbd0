/**
 * The data behind Ferry's seccomp filters: the default deny list that every instance gets, the
 * calls answered with ENOSYS, the socket families an instance may use, and the baseline a runtime
 * needs when a function asks for allow mode. Syscalls by name: numbers come from libseccomp
 * (through the native helper) on the host that compiles the filter. Reviewed against Docker's
 * default profile (moby `profiles/seccomp/default.json`, without added capabilities) and the
 * syscalls gVisor refuses or stubs.
 */

/**
 * Refused for every instance, whatever its own policy says. Each name opens kernel attack
 * surface or lets a process reach outside its sandbox; no function needs them to serve HTTP.
 * Names libseccomp does not know on this host are dropped at compile time with a debug note
 * (e.g. a newer name on an older libseccomp); names it knows but this arch lacks (vm86 on x86_64)
 * compile to nothing, harmlessly.
 */
export const defaultDenyList: readonly string[] = [
  // Inspecting or writing other processes' memory and state.
  'ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp',
  // Namespaces and mounts: the filesystem view bwrap built must stay the one the code sees.
  'mount', 'umount', 'umount2', 'pivot_root', 'unshare', 'setns',
  'fsopen', 'fsmount', 'fsconfig', 'move_mount', 'open_tree', 'fspick', 'mount_setattr',
  // Kernel keyrings are not namespaced: keys could leak between instances.
  'keyctl', 'add_key', 'request_key',
  // Large, often-exploited kernel surfaces.
  'bpf', 'perf_event_open', 'userfaultfd', 'lookup_dcookie',
  // Loading kernels and kernel modules.
  'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module',
  'create_module', 'get_kernel_syms', 'query_module',
  // File handles bypass the path-based view (the "shocker" container escape).
  'open_by_handle_at', 'name_to_handle_at',
  // Execution-domain changes (e.g. READ_IMPLIES_EXEC) that weaken memory protections.
  'personality',
  // Host administration: power, swap, accounting, quotas, clocks, kernel log, I/O ports.
  'reboot', 'swapon', 'swapoff', 'acct', 'quotactl', 'quotactl_fd',
  'clock_settime', 'settimeofday', 'adjtimex', 'clock_adjtime', 'syslog',
  'iopl', 'ioperm', 'vm86', 'vm86old', 'uselib', 'nfsservctl',
  // Host names and the terminal: nothing for an instance to set or hang up (Docker: CAP_SYS_ADMIN,
  // CAP_SYS_TTY_CONFIG).
  'sethostname', 'setdomainname', 'vhangup',
  // 16-bit segments in a process's LDT: old, bug-prone x86 code that only emulators (Wine,
  // DOSEMU) need; Docker allows it, gVisor refuses it.
  'modify_ldt',
  // NUMA memory placement: moving pages between nodes is kernel code few programs use, and of no
  // use where the host places instances (Docker: CAP_SYS_NICE). get_mempolicy stays allowed: it
  // only reads, and libnuma probes it, which under the kill action would be fatal.
  'mbind', 'set_mempolicy', 'set_mempolicy_home_node', 'migrate_pages', 'move_pages',
  // Other processes' file descriptors and memory advice (Docker: CAP_SYS_PTRACE).
  'pidfd_getfd', 'process_madvise',
  // Whole-file-system event monitoring (Docker: CAP_SYS_ADMIN).
  'fanotify_init',
  // Obsolete or never implemented: nothing calls them on purpose (Docker omits them too).
  'sysfs', 'ustat', '_sysctl', 'afs_syscall', 'tuxcall', 'security', 'getpmsg', 'putpmsg', 'vserver',
];

/**
 * Answered with ENOSYS ("this kernel has no such call") for every instance, before and whatever
 * its own policy says: never EPERM, never the kill action. io_uring runs I/O the kernel's workers
 * perform without a syscall a filter could see (IORING_OP_CONNECT, OPENAT, ...), so it would walk
 * around every other rule, and it has been a steady source of kernel exploits (Docker and
 * containerd refuse it since 2023). libuv and others probe for it and fall back on ENOSYS.
 */
export const enosysSyscalls: readonly string[] = ['io_uring_setup', 'io_uring_enter', 'io_uring_register'];

/** One family `socket()` may use: a domain (AF_*), with any protocol or only `protocol`. */
export interface SocketFamily {
  domain: number;
  protocol?: number;
}

/**
 * The only families an instance may open sockets in; any other fails with EAFNOSUPPORT ("address
 * family not supported"), the answer libraries expect from a kernel built without a family.
 * Each other family is kernel code the instance has no use for, and some reach past its
 * namespaces: AF_VSOCK shares the host VM's vsock port space whatever the network policy.
 */
export const socketFamilies: readonly SocketFamily[] = [
  { domain: 1 }, // AF_UNIX: the gateway's socket, local IPC
  { domain: 2 }, // AF_INET
  { domain: 10 }, // AF_INET6
  // AF_NETLINK with NETLINK_ROUTE only: getifaddrs() and the resolver list the interfaces
  // through it; the other netlink protocols (audit, uevents, netfilter, ...) are refused.
  { domain: 16, protocol: 0 },
];

/** The only family `socketpair()` may use: AF_UNIX, the family of every ordinary socket pair. */
export const socketpairFamilies: readonly number[] = [1];

/**
 * What node 20 and python 3.11 were seen to call while starting and serving, on Debian 12 x86_64.
 * Derived with `strace -f -c -U name` over (1) Ferry's runtime test suites (node, python, exec,
 * http runtimes and the shim: real shims serving calls over their Unix socket), and (2) a node and
 * a python script that serve HTTP on a Unix socket and on TCP, fetch over TCP, resolve a name,
 * start a thread/worker and a child process, use crypto, zlib, sqlite and temp files; the
 * union of the three syscall columns, sorted. Rerun the same way when a runtime changes.
 */
export const observedRuntimeSyscalls: readonly string[] = [
  'accept4', 'access', 'arch_prctl', 'bind', 'brk', 'capget', 'chdir', 'chmod', 'clock_nanosleep',
  'clone', 'clone3', 'close', 'close_range', 'connect', 'dup2', 'epoll_create1', 'epoll_ctl',
  'epoll_pwait', 'epoll_wait', 'eventfd2', 'execve', 'faccessat2', 'fadvise64', 'fcntl', 'fstat',
  'futex', 'getcwd', 'getdents64', 'getegid', 'geteuid', 'getgid', 'getpeername', 'getpgrp',
  'getpid', 'getppid', 'getrandom', 'getsockname', 'getsockopt', 'gettid', 'getuid', 'ioctl',
  'kill', 'listen', 'lseek', 'madvise', 'mkdir', 'mmap', 'mprotect', 'mremap', 'munmap',
  'newfstatat', 'openat', 'pipe2', 'pkey_alloc', 'poll', 'pread64', 'prlimit64', 'read',
  'readlink', 'recvfrom', 'recvmsg', 'rmdir', 'rseq', 'rt_sigaction', 'rt_sigprocmask',
  'rt_sigreturn', 'sched_getaffinity', 'sendto', 'set_robust_list', 'set_tid_address', 'setsid',
  'setsockopt', 'shutdown', 'socket', 'socketpair', 'statx', 'symlink', 'sysinfo', 'tgkill',
  'uname', 'unlink', 'unlinkat', 'vfork', 'wait4', 'write', 'writev',
];

/**
 * Added by hand to the observed set, each for a reason strace -c cannot show.
 */
export const handAddedRuntimeSyscalls: readonly string[] = [
  // Never return, so strace -c does not count them; without them no process can end.
  'exit', 'exit_group',
  // The kernel restarts interrupted sleeps through it after a signal handler ran.
  'restart_syscall',
  // Served by the vDSO (invisible to strace) but called as syscalls when the clock source has
  // no vDSO path, as on some VMs.
  'clock_gettime', 'clock_getres', 'gettimeofday', 'time',
  // Ordinary serving paths the traces happened not to hit: glibc's DNS resolver (sendmmsg),
  // writing a file atomically or durably under /tmp (sqlite, tempfile), timers and sleeps.
  'sendmsg', 'sendmmsg', 'recvmmsg', 'pwrite64', 'ftruncate', 'fsync', 'fdatasync', 'rename',
  'renameat', 'renameat2', 'fchmod', 'readlinkat', 'mkdirat', 'utimensat', 'umask', 'dup', 'dup3',
  'nanosleep', 'sched_yield', 'getrusage', 'ppoll', 'pselect6', 'select', 'sigaltstack',
  'rt_sigsuspend', 'rt_sigtimedwait', 'getresuid', 'getresgid', 'lstat', 'stat', 'flock',
  'pipe', 'getpgid', 'setpgid', 'getpriority', 'timerfd_create', 'timerfd_settime',
];

/** What a runtime needs in allow mode: observed plus hand-added, sorted, without duplicates. */
export const runtimeBaseline: readonly string[] = [...new Set([...observedRuntimeSyscalls, ...handAddedRuntimeSyscalls])].sort();
