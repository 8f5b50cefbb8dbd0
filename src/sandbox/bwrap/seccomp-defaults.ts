/**
 * The data behind Ferry's seccomp filters: the default deny list that every instance gets, and
 * the baseline a runtime needs when a function asks for allow mode. Names only: numbers come
 * from libseccomp (through the native helper) on the host that compiles the filter.
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
];

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
