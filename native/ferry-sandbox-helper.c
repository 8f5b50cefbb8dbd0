/*
 * ferry-sandbox-helper: the small native part of Ferry's bwrap sandbox.
 *
 * Node cannot call libseccomp, setrlimit, setgroups/setuid or prctl itself, and the settings
 * have to be in place *before* the sandboxed program runs its first instruction, so this helper
 * does them and then execs. It is deliberately small: everything that is policy (which
 * syscalls, which limits) is decided in TypeScript; this file only applies it, and fails closed.
 *
 * Subcommands:
 *   seccomp-compile --default-action allow|errno|kill [--deny-action errno|kill]
 *                   [--no-new-namespaces] [--deny NAME]... [--allow NAME]... [--enosys NAME]...
 *                   [--socket-family DOMAIN[:PROTOCOL]]... [--socketpair-family DOMAIN]...
 *       Writes a raw seccomp BPF program (as bwrap --seccomp FD reads it) to stdout.
 *   resolve NAME...
 *       One line per name: "NAME<TAB>NUMBER" or "NAME<TAB>unknown" (exit 0 either way).
 *   version
 *       "libseccomp X.Y.Z<TAB>ARCH" of the library this helper is linked against.
 *   exec [--cgroup DIR]... [--rlimit as|nproc|nofile|cpu|fsize|core=N]... [--uid N --gid N]
 *        -- PROGRAM ARGS...
 *       Joins the cgroups, applies the rlimits, drops to uid/gid, sets no_new_privs, execs.
 *   seccomp-exec --fd N -- PROGRAM ARGS...
 *       Inside the sandbox: loads the BPF program read from fd N with SECCOMP_FILTER_FLAG_LOG,
 *       closes N, execs.
 *
 * The reader of the kernel's seccomp audit records is a program of its own,
 * ferry-seccomp-log.c.
 *
 * Exit status: 0 success, 2 usage or unknown syscall name, 127 when exec's setup failed (the
 * same status a shell gives for "could not run", so the caller treats it as a start failure).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define EXIT_SETUP 127
#define MAX_ITEMS 1024

static const char *prog = "ferry-sandbox-helper";

static void msg(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", prog);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* Parses a whole decimal number; anything else (sign, junk, overflow) is refused. */
static int parse_u64(const char *s, unsigned long long *out) {
  if (s == NULL || *s < '0' || *s > '9') return -1;
  errno = 0;
  char *end = NULL;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0') return -1;
  *out = v;
  return 0;
}

/* ---------------------------------------------------------------- seccomp-compile */

static uint32_t action_of(const char *name, int *ok) {
  *ok = 1;
  if (strcmp(name, "allow") == 0) return SCMP_ACT_ALLOW;
  if (strcmp(name, "errno") == 0) return SCMP_ACT_ERRNO(EPERM);
  /* KILL_PROCESS, not KILL (thread): a half-killed multi-threaded runtime would hang instead of
   * being reported as crashed. */
  if (strcmp(name, "kill") == 0) return SCMP_ACT_KILL_PROCESS;
  *ok = 0;
  return 0;
}

static int listed(const char **names, int n, const char *name) {
  for (int i = 0; i < n; i++) if (strcmp(names[i], name) == 0) return 1;
  return 0;
}

/* clone()'s namespace flags. Denying unshare/setns is not enough: clone(CLONE_NEWUSER|...)
 * creates namespaces too. CLONE_NEWTIME is left out on purpose: for clone() that bit is part of
 * the exit-signal byte, and new time namespaces are only reachable through unshare/clone3. */
static const unsigned long ns_flags[] = {
  CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
};

/* --no-new-namespaces: refuse clone() with any namespace flag, and answer clone3() with ENOSYS.
 * clone3 passes its flags in memory a seccomp filter cannot read, so it cannot be checked; ENOSYS
 * (not EPERM) makes glibc fall back to clone(), which can be (the same choice Docker makes).
 * In allow mode clone is allowed only without those flags; a name the caller denies outright
 * keeps its plain rule. */
static int add_namespace_rules(scmp_filter_ctx ctx, int deny_mode, uint32_t deny_act,
                               const char **names, int n) {
  int rc = 0;
  int nr_clone = seccomp_syscall_resolve_name("clone"), nr_clone3 = seccomp_syscall_resolve_name("clone3");
  if (nr_clone == __NR_SCMP_ERROR || nr_clone3 == __NR_SCMP_ERROR) return -ENOSYS;
  if (deny_mode) {
    if (!listed(names, n, "clone")) {
      for (size_t i = 0; rc == 0 && i < sizeof ns_flags / sizeof ns_flags[0]; i++)
        rc = seccomp_rule_add(ctx, deny_act, nr_clone, 1, SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
    }
  } else if (listed(names, n, "clone")) {
    unsigned long all = 0;
    for (size_t i = 0; i < sizeof ns_flags / sizeof ns_flags[0]; i++) all |= ns_flags[i];
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr_clone, 1, SCMP_A0(SCMP_CMP_MASKED_EQ, all, 0));
  }
  if (rc == 0 && !(deny_mode && listed(names, n, "clone3"))) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr_clone3, 0);
  return rc;
}

/* A family socket() may be made in: a domain (AF_*), with any protocol or with one only. */
struct family { unsigned long long domain; unsigned long long protocol; int any_protocol; };

/* Families are small numbers (AF_MAX is below 64): the complement below is spelled out. */
#define MAX_DOMAIN 63

/* "D" or "D:P"; one entry per domain. */
static int parse_family(const char *spec, struct family *fams, int n) {
  char dom[32];
  const char *colon = strchr(spec, ':');
  size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
  struct family f = { 0, 0, colon == NULL };
  if (len >= sizeof dom) return -1;
  memcpy(dom, spec, len);
  dom[len] = '\0';
  if (parse_u64(dom, &f.domain) != 0 || f.domain > MAX_DOMAIN) return -1;
  if (colon && (parse_u64(colon + 1, &f.protocol) != 0 || f.protocol > INT_MAX)) return -1;
  for (int i = 0; i < n; i++) if (fams[i].domain == f.domain) return -1;
  fams[n] = f;
  return 0;
}

/* Refuses SYSCALL (socket or socketpair) with EAFNOSUPPORT, an answer every library handles, for
 * any family not in FAMS. A filter cannot say "none of these", so the complement is spelled out:
 * each domain below the largest allowed one that is not allowed, an allowed domain with another
 * protocol, and everything above. The comparisons are on all 64 bits of the argument, so a value
 * with high bits set (which the kernel would cut to an allowed int) is refused as well. */
static int add_family_rules(scmp_filter_ctx ctx, const char *syscall, const struct family *fams, int n) {
  int nr = seccomp_syscall_resolve_name(syscall);
  if (nr == __NR_SCMP_ERROR) return -ENOSYS;
  const uint32_t act = SCMP_ACT_ERRNO(EAFNOSUPPORT);
  unsigned long long max = 0;
  for (int i = 0; i < n; i++) if (fams[i].domain > max) max = fams[i].domain;
  int rc = 0;
  for (unsigned long long d = 0; rc == 0 && d <= max; d++) {
    const struct family *f = NULL;
    for (int i = 0; i < n && f == NULL; i++) if (fams[i].domain == d) f = &fams[i];
    if (f == NULL) rc = seccomp_rule_add(ctx, act, nr, 1, SCMP_A0(SCMP_CMP_EQ, d));
    else if (!f->any_protocol) rc = seccomp_rule_add(ctx, act, nr, 2, SCMP_A0(SCMP_CMP_EQ, d), SCMP_A2(SCMP_CMP_NE, f->protocol));
  }
  if (rc == 0) rc = seccomp_rule_add(ctx, act, nr, 1, SCMP_A0(SCMP_CMP_GT, max));
  return rc;
}

static int cmd_seccomp_compile(int argc, char **argv) {
  const char *def_name = NULL, *deny_name = "errno";
  const char *deny[MAX_ITEMS], *allow[MAX_ITEMS], *enosys[MAX_ITEMS];
  struct family sock_fams[MAX_DOMAIN + 1], pair_fams[MAX_DOMAIN + 1];
  int ndeny = 0, nallow = 0, nenosys = 0, nsock = 0, npair = 0, no_new_ns = 0;

  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--no-new-namespaces") == 0) { no_new_ns = 1; continue; }
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v == NULL) { msg("%s needs a value", a); return EXIT_USAGE; }
    if (strcmp(a, "--default-action") == 0) def_name = v;
    /* --errno-action is the older spelling of --deny-action. */
    else if (strcmp(a, "--deny-action") == 0 || strcmp(a, "--errno-action") == 0) deny_name = v;
    else if (strcmp(a, "--deny") == 0 && ndeny < MAX_ITEMS) deny[ndeny++] = v;
    else if (strcmp(a, "--allow") == 0 && nallow < MAX_ITEMS) allow[nallow++] = v;
    else if (strcmp(a, "--enosys") == 0 && nenosys < MAX_ITEMS) enosys[nenosys++] = v;
    else if (strcmp(a, "--socket-family") == 0 && nsock <= MAX_DOMAIN) {
      if (parse_family(v, sock_fams, nsock++) != 0) { msg("bad --socket-family %s (want DOMAIN or DOMAIN:PROTOCOL, once per domain)", v); return EXIT_USAGE; }
    } else if (strcmp(a, "--socketpair-family") == 0 && npair <= MAX_DOMAIN) {
      if (strchr(v, ':') != NULL || parse_family(v, pair_fams, npair++) != 0) { msg("bad --socketpair-family %s (want DOMAIN, once each)", v); return EXIT_USAGE; }
    }
    else { msg("unknown or repeated-too-often option %s", a); return EXIT_USAGE; }
    i++;
  }
  int ok_def = 0, ok_deny = 0;
  uint32_t def = def_name ? action_of(def_name, &ok_def) : 0;
  uint32_t deny_act = action_of(deny_name, &ok_deny);
  if (!ok_def || !ok_deny || deny_act == SCMP_ACT_ALLOW) {
    msg("--default-action allow|errno|kill and --deny-action errno|kill are required");
    return EXIT_USAGE;
  }
  /* One mode per filter: in deny mode the allow list would be meaningless and in allow mode a
   * deny rule equal to the default action is rejected by libseccomp; refuse both mixes. */
  int deny_mode = def == SCMP_ACT_ALLOW;
  if ((deny_mode && nallow > 0) || (!deny_mode && ndeny > 0)) {
    msg("--deny goes with --default-action allow, --allow with errno|kill");
    return EXIT_USAGE;
  }

  /* The family rules are conditional refusals on top of "allow": in allow mode an unconditional
   * allow of socket would override them, and in deny mode so would an unconditional deny. */
  const char **names = deny_mode ? deny : allow;
  int n = deny_mode ? ndeny : nallow;
  if ((nsock > 0 || npair > 0) && (!deny_mode || listed(names, n, "socket") || listed(names, n, "socketpair"))) {
    msg("--socket-family and --socketpair-family go with --default-action allow and without socket or socketpair listed");
    return EXIT_USAGE;
  }
  /* An --enosys name has one answer; listed as well, two rules would disagree. */
  for (int i = 0; i < nenosys; i++) {
    if (listed(names, n, enosys[i])) { msg("%s is both listed and --enosys", enosys[i]); return EXIT_USAGE; }
  }

  /* Resolve every name first, so the error names all unknown ones at once. libseccomp resolves
   * them for the native arch from its own table: no hand-kept numbers here. */
  int nrs[MAX_ITEMS], enosys_nrs[MAX_ITEMS];
  int unknown = 0;
  for (int i = 0; i < n + nenosys; i++) {
    const char *name = i < n ? names[i] : enosys[i - n];
    int nr = seccomp_syscall_resolve_name(name);
    if (i < n) nrs[i] = nr;
    else enosys_nrs[i - n] = nr;
    if (nr == __NR_SCMP_ERROR) {
      fprintf(stderr, "%s%s", unknown++ ? " " : "ferry-sandbox-helper: unknown syscall names: ", name);
    }
  }
  if (unknown) { fputc('\n', stderr); return EXIT_USAGE; }

  /* seccomp_init adds the native arch only. Any other ABI (i386 via int 0x80, and x32, whose
   * calls carry the x86_64 audit arch but have bit 0x40000000 set) then takes the bad-arch
   * action: libseccomp emits a "nr >= 0x40000000 -> bad arch" check for an x86_64 filter that
   * has no x32 arch. Without this, int 0x80 or x32 numbers would walk around every rule. */
  scmp_filter_ctx ctx = seccomp_init(def);
  if (ctx == NULL) { msg("seccomp_init failed"); return EXIT_SETUP; }
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (rc == 0 && seccomp_arch_native() == SCMP_ARCH_X86_64 && seccomp_arch_exist(ctx, SCMP_ARCH_X32) == 0) {
    /* Never expected (seccomp_init adds only the native arch); checked so a changed library
     * default cannot silently open the x32 ABI. */
    rc = seccomp_arch_remove(ctx, SCMP_ARCH_X32);
  }
  if (rc != 0) { msg("setting the bad-arch action failed: %s", strerror(-rc)); seccomp_release(ctx); return EXIT_SETUP; }

  uint32_t rule_act = deny_mode ? deny_act : SCMP_ACT_ALLOW;
  for (int i = 0; i < n; i++) {
    /* In allow mode these two get the conditional rules of add_namespace_rules instead: an
     * unconditional allow would override them. */
    if (no_new_ns && !deny_mode && (strcmp(names[i], "clone") == 0 || strcmp(names[i], "clone3") == 0)) continue;
    /* Names that exist in libseccomp's table but not on this arch resolve to negative pseudo
     * numbers; libseccomp drops such rules from the BPF, so adding them is harmless. */
    rc = seccomp_rule_add(ctx, rule_act, nrs[i], 0);
    if (rc != 0) { msg("adding a rule for %s failed: %s", names[i], strerror(-rc)); seccomp_release(ctx); return EXIT_SETUP; }
  }
  if (no_new_ns && (rc = add_namespace_rules(ctx, deny_mode, deny_act, names, n)) != 0) {
    msg("adding the namespace rules failed: %s", strerror(-rc));
    seccomp_release(ctx);
    return EXIT_SETUP;
  }
  /* ENOSYS whatever the default action: it says "this kernel has no such call", which callers
   * that probe (libuv for io_uring) take as the cue to fall back. */
  for (int i = 0; i < nenosys; i++) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), enosys_nrs[i], 0);
    if (rc != 0) { msg("adding the ENOSYS rule for %s failed: %s", enosys[i], strerror(-rc)); seccomp_release(ctx); return EXIT_SETUP; }
  }
  if ((nsock > 0 && (rc = add_family_rules(ctx, "socket", sock_fams, nsock)) != 0) ||
      (npair > 0 && (rc = add_family_rules(ctx, "socketpair", pair_fams, npair)) != 0)) {
    msg("adding the socket family rules failed: %s", strerror(-rc));
    seccomp_release(ctx);
    return EXIT_SETUP;
  }
  rc = seccomp_export_bpf(ctx, STDOUT_FILENO);
  seccomp_release(ctx);
  if (rc != 0) { msg("exporting the filter failed: %s", strerror(-rc)); return EXIT_SETUP; }
  return 0;
}

static int cmd_resolve(int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    int nr = seccomp_syscall_resolve_name(argv[i]);
    if (nr == __NR_SCMP_ERROR) printf("%s\tunknown\n", argv[i]);
    else printf("%s\t%d\n", argv[i], nr);
  }
  return fflush(stdout) == 0 ? 0 : EXIT_SETUP;
}

static int cmd_version(void) {
  const struct scmp_version *v = seccomp_version();
  const char *arch = seccomp_arch_native() == SCMP_ARCH_X86_64 ? "x86_64"
                   : seccomp_arch_native() == SCMP_ARCH_AARCH64 ? "aarch64" : "other";
  if (v == NULL) { msg("seccomp_version failed"); return EXIT_SETUP; }
  printf("libseccomp %u.%u.%u\t%s\n", v->major, v->minor, v->micro, arch);
  return 0;
}

/* ---------------------------------------------------------------- exec */

struct rlim_name { const char *name; int resource; };
static const struct rlim_name rlims[] = {
  {"as", RLIMIT_AS}, {"nproc", RLIMIT_NPROC}, {"nofile", RLIMIT_NOFILE},
  {"cpu", RLIMIT_CPU}, {"fsize", RLIMIT_FSIZE}, {"core", RLIMIT_CORE},
};

/* Writes our own pid into DIR/cgroup.procs: after this, every byte and process we (and the
 * program we exec, and its children) use is charged to that cgroup. */
static int join_cgroup(const char *dir) {
  char path[PATH_MAX], pid[32];
  if (snprintf(path, sizeof path, "%s/cgroup.procs", dir) >= (int)sizeof path) { msg("cgroup path too long: %s", dir); return -1; }
  int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
  /* O_WRONLY without O_CREAT: a missing cgroup must fail, not create a plain file. */
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) { msg("cannot open %s: %s", path, strerror(errno)); return -1; }
  ssize_t w = write(fd, pid, (size_t)len);
  int err = errno;
  if (close(fd) != 0 && w == len) { msg("cannot join %s: %s", path, strerror(errno)); return -1; }
  if (w != len) { msg("cannot join %s: %s", path, strerror(err)); return -1; }
  return 0;
}

static int apply_rlimit(const char *spec) {
  const char *eq = strchr(spec, '=');
  unsigned long long v;
  if (eq == NULL || parse_u64(eq + 1, &v) != 0) { msg("bad --rlimit %s (want name=N)", spec); return -1; }
  for (size_t i = 0; i < sizeof rlims / sizeof rlims[0]; i++) {
    if (strlen(rlims[i].name) == (size_t)(eq - spec) && strncmp(rlims[i].name, spec, (size_t)(eq - spec)) == 0) {
      /* Soft and hard alike: the program must not be able to raise it again. Done while we may
       * still be root, since raising a hard limit needs CAP_SYS_RESOURCE. */
      struct rlimit rl = { (rlim_t)v, (rlim_t)v };
      if (setrlimit(rlims[i].resource, &rl) != 0) { msg("setrlimit %s: %s", spec, strerror(errno)); return -1; }
      return 0;
    }
  }
  msg("unknown rlimit in %s (as|nproc|nofile|cpu|fsize|core)", spec);
  return -1;
}

/* Groups first (needs root), then gid (needs root), then uid last: after setuid we could no
 * longer change the others. Then prove the drop is permanent. */
static int drop_to(uid_t uid, gid_t gid) {
  if (setgroups(0, NULL) != 0) { msg("setgroups: %s", strerror(errno)); return -1; }
  if (setresgid(gid, gid, gid) != 0) { msg("setresgid %u: %s", (unsigned)gid, strerror(errno)); return -1; }
  if (setresuid(uid, uid, uid) != 0) { msg("setresuid %u: %s", (unsigned)uid, strerror(errno)); return -1; }
  uid_t r, e, s;
  gid_t rg, eg, sg;
  if (getresuid(&r, &e, &s) != 0 || r != uid || e != uid || s != uid ||
      getresgid(&rg, &eg, &sg) != 0 || rg != gid || eg != gid || sg != gid) {
    msg("uid/gid did not change as asked");
    return -1;
  }
  if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) { msg("could regain root after dropping it"); return -1; }
  if (gid != 0 && (setgid(0) == 0 || setegid(0) == 0)) { msg("could regain gid 0 after dropping it"); return -1; }
  /* A credential change makes the process non-dumpable, which makes its /proc/self/uid_map
   * root-owned: bwrap (and pasta) could then not map the new user namespace. The process now
   * belongs to the sandbox uid alone, so it may be dumpable (ptrace by that uid only). */
  if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) { msg("PR_SET_DUMPABLE: %s", strerror(errno)); return -1; }
  return 0;
}

static int cmd_exec(int argc, char **argv) {
  const char *cgroups[MAX_ITEMS], *limits[MAX_ITEMS];
  int ncg = 0, nlim = 0, i = 0;
  unsigned long long uid = 0, gid = 0;
  int have_uid = 0, have_gid = 0, nnp = 1;

  for (; i < argc && strcmp(argv[i], "--") != 0; i += 2) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v == NULL) { msg("%s needs a value", a); return EXIT_SETUP; }
    if (strcmp(a, "--cgroup") == 0 && ncg < MAX_ITEMS) cgroups[ncg++] = v;
    else if (strcmp(a, "--rlimit") == 0 && nlim < MAX_ITEMS) limits[nlim++] = v;
    else if (strcmp(a, "--uid") == 0 && parse_u64(v, &uid) == 0 && uid < UINT_MAX) have_uid = 1;
    else if (strcmp(a, "--gid") == 0 && parse_u64(v, &gid) == 0 && gid < UINT_MAX) have_gid = 1;
    else if (strcmp(a, "--no-new-privs") == 0 && (strcmp(v, "1") == 0 || strcmp(v, "0") == 0)) nnp = v[0] == '1';
    else { msg("bad option %s %s", a, v); return EXIT_SETUP; }
  }
  if (i >= argc - 1) { msg("usage: exec [options] -- PROGRAM ARGS..."); return EXIT_SETUP; }
  if (have_uid != have_gid) { msg("--uid and --gid go together"); return EXIT_SETUP; }
  char **cmd = argv + i + 1;

  /* Order matters: cgroups first so the rest (and the program) is accounted from the start;
   * rlimits and the uid drop while we still hold the privileges they need; no_new_privs last so
   * nothing exec'd afterwards (setuid binaries, file capabilities) can gain privileges. Any
   * failure stops here: we never run the program with weaker settings than asked. */
  for (int k = 0; k < ncg; k++) if (join_cgroup(cgroups[k]) != 0) return EXIT_SETUP;
  for (int k = 0; k < nlim; k++) if (apply_rlimit(limits[k]) != 0) return EXIT_SETUP;
  if (have_uid && drop_to((uid_t)uid, (gid_t)gid) != 0) return EXIT_SETUP;
  /* Off only on request: a user-mode network stack (pasta) runs the sandbox inside a user
   * namespace where it is uid 0, and with no_new_privs that uid 0 gets no capabilities on exec,
   * so bwrap could not map its own nested namespace. bwrap sets no_new_privs for the sandboxed
   * program itself in every case. */
  if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { msg("PR_SET_NO_NEW_PRIVS: %s", strerror(errno)); return EXIT_SETUP; }

  /* Inherited fds stay open on purpose: the bwrap driver hands fds 3+ (seccomp program, info
   * pipes) through us to bwrap. */
  execvp(cmd[0], cmd);
  msg("cannot run %s: %s", cmd[0], strerror(errno));
  return EXIT_SETUP;
}

/* ---------------------------------------------------------------- seccomp-exec */

/* The kernel logs what a filter refuses only when the filter was loaded with
 * SECCOMP_FILTER_FLAG_LOG, and bwrap loads filters with prctl(), which has no flags. So bwrap
 * runs this as the sandbox's first program, already inside every namespace and under bwrap's
 * own filter, and this loads the function's filter with the flag, then becomes the runtime. */
static int cmd_seccomp_exec(int argc, char **argv) {
  unsigned long long fd = 0;
  if (argc < 4 || strcmp(argv[0], "--fd") != 0 || parse_u64(argv[1], &fd) != 0 || fd > INT_MAX || strcmp(argv[2], "--") != 0) {
    msg("usage: seccomp-exec --fd N -- PROGRAM ARGS...");
    return EXIT_SETUP;
  }
  /* Room for one instruction more than the kernel takes, to tell a program that is too long. */
  static struct sock_filter insns[BPF_MAXINSNS + 1];
  size_t got = 0, cap = sizeof insns;
  for (;;) {
    ssize_t n = read((int)fd, (char *)insns + got, cap - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { msg("reading the filter from fd %llu: %s", fd, strerror(errno)); return EXIT_SETUP; }
    if (n == 0 || (got += (size_t)n) == cap) break;
  }
  close((int)fd);
  if (got == 0 || got % sizeof insns[0] != 0 || got > BPF_MAXINSNS * sizeof insns[0]) {
    msg("fd %llu does not hold a seccomp program (%zu bytes)", fd, got);
    return EXIT_SETUP;
  }
  struct sock_fprog prog = { .len = (unsigned short)(got / sizeof insns[0]), .filter = insns };
  /* Unprivileged filters need no_new_privs; bwrap has set it already, this makes it certain. */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { msg("PR_SET_NO_NEW_PRIVS: %s", strerror(errno)); return EXIT_SETUP; }
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_LOG, &prog);
  /* A kernel older than 4.14 has no FLAG_LOG: the filter still applies, only unlogged. */
  if (rc != 0 && errno == EINVAL) rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
  if (rc != 0) { msg("loading the seccomp filter: %s", strerror(errno)); return EXIT_SETUP; }
  execvp(argv[3], argv + 3);
  msg("cannot run %s: %s", argv[3], strerror(errno));
  return EXIT_SETUP;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    msg("usage: %s seccomp-compile|resolve|version|exec|seccomp-exec ...", prog);
    return EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "seccomp-compile") == 0) return cmd_seccomp_compile(argc - 2, argv + 2);
  if (strcmp(cmd, "resolve") == 0) return cmd_resolve(argc - 2, argv + 2);
  if (strcmp(cmd, "version") == 0) return cmd_version();
  if (strcmp(cmd, "exec") == 0) return cmd_exec(argc - 2, argv + 2);
  if (strcmp(cmd, "seccomp-exec") == 0) return cmd_seccomp_exec(argc - 2, argv + 2);
  msg("unknown subcommand %s", cmd);
  return EXIT_USAGE;
}
