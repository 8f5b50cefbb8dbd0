/*
 * ferry-seccomp-log: tells Ferry which system calls seccomp filters refused.
 *
 *   ferry-seccomp-log [--check]
 *       Follows the kernel's audit records: "ready", then one line per seccomp record:
 *       "PID<TAB>ACTION<TAB>NR<TAB>NAME<TAB>COMM<TAB>CGROUP,CGROUP...". --check: exit 0 when it
 *       could follow them, without following.
 *
 * Syscall numbers are named by libseccomp (seccomp_syscall_resolve_num_arch), never by a table of
 * our own. One runs per server, as root (reading audit records needs CAP_AUDIT_READ), and dies
 * with it.
 *
 * Exit status: 0 (also when its reader went away), 2 usage, 127 when it cannot read the records.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define EXIT_SETUP 127

static const char *prog = "ferry-seccomp-log";

static void msg(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", prog);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* The value of " KEY=" in an audit record, up to the next space. Values never hold spaces or
 * quotes (the kernel writes such strings in hex), so the first match is the field itself. */
static int audit_field(const char *rec, const char *key, char *out, size_t size) {
  char pat[32];
  snprintf(pat, sizeof pat, " %s=", key);
  const char *p = strstr(rec, pat);
  if (p == NULL) return -1;
  p += strlen(pat);
  size_t n = strcspn(p, " \n");
  if (n >= size) n = size - 1;
  memcpy(out, p, n);
  out[n] = '\0';
  return 0;
}

static char printable(unsigned int c) { return c >= 0x21 && c <= 0x7e ? (char)c : '?'; }

/* comm as the kernel logs it ("name", or hex when it holds odd bytes), made safe for one
 * tab-separated field. */
static void audit_comm(const char *raw, char *out, size_t size) {
  size_t o = 0, len = strlen(raw);
  if (len >= 2 && raw[0] == '"' && raw[len - 1] == '"') {
    for (size_t i = 1; i + 1 < len && o + 1 < size; i++) out[o++] = printable((unsigned char)raw[i]);
  } else {
    for (size_t i = 0; i + 1 < len && o + 1 < size; i += 2) {
      unsigned int c;
      if (sscanf(raw + i, "%2x", &c) != 1) break;
      out[o++] = printable(c);
    }
  }
  out[o] = '\0';
}

/* The cgroup paths of a process, comma-separated ("-" once it is gone). Read at once: the
 * process may be exiting (a kill) and its pid reused later. */
static void proc_cgroups(const char *pid, char *out, size_t size) {
  char path[64], line[1024];
  snprintf(path, sizeof path, "/proc/%s/cgroup", pid);
  FILE *f = fopen(path, "re");
  size_t o = 0;
  out[0] = '\0';
  if (f != NULL) {
    while (fgets(line, sizeof line, f) != NULL) {
      char *p = strchr(line, ':');
      if (p == NULL || (p = strchr(p + 1, ':')) == NULL) continue;
      p++;
      p[strcspn(p, "\n")] = '\0';
      for (char *c = p; *c; c++) if (*c == '\t' || *c == ',' || (unsigned char)*c < 0x20) *c = '?';
      int w = snprintf(out + o, size - o, "%s%s", o ? "," : "", p);
      if (w < 0 || (size_t)w >= size - o) break;
      o += (size_t)w;
    }
    fclose(f);
  }
  if (o == 0) snprintf(out, size, "-");
}

static const char *action_name(unsigned long code) {
  switch (code & SECCOMP_RET_ACTION_FULL) {
    case SECCOMP_RET_KILL_PROCESS: case SECCOMP_RET_KILL_THREAD: return "kill";
    case SECCOMP_RET_ERRNO: return "errno";
    case SECCOMP_RET_TRAP: return "trap";
    case SECCOMP_RET_TRACE: return "trace";
    case SECCOMP_RET_LOG: return "log";
    default: return "other";
  }
}

/* One seccomp audit record ("audit(TIME:SERIAL): auid=... pid=... comm=... syscall=... code=..."),
 * printed as one line for the server. */
static void report(const char *rec) {
  char pid[16], comm_raw[80], comm[40], arch[16], nr[16], code[24], cg[2048];
  if (audit_field(rec, "pid", pid, sizeof pid) || audit_field(rec, "arch", arch, sizeof arch) ||
      audit_field(rec, "syscall", nr, sizeof nr) || audit_field(rec, "code", code, sizeof code)) return;
  if (strspn(pid, "0123456789") != strlen(pid) || strspn(nr, "0123456789") != strlen(nr)) return;
  if (audit_field(rec, "comm", comm_raw, sizeof comm_raw) != 0) comm_raw[0] = '\0';
  audit_comm(comm_raw, comm, sizeof comm);
  proc_cgroups(pid, cg, sizeof cg);
  /* The record's arch is an AUDIT_ARCH_* value, which is what libseccomp's arch tokens are: the
   * name comes from libseccomp's table for that arch, never from one kept here. */
  char *name = seccomp_syscall_resolve_num_arch((uint32_t)strtoul(arch, NULL, 16), atoi(nr));
  printf("%s\t%s\t%s\t%s\t%s\t%s\n", pid, action_name(strtoul(code, NULL, 16)), nr, name ? name : "unknown", comm[0] ? comm : "?", cg);
  free(name);
  fflush(stdout);
}

/* Reads the audit netlink socket's read-only multicast group (AUDIT_NLGRP_READLOG, needs
 * CAP_AUDIT_READ; journald reads the same), which gets every record whether auditd runs or not.
 * The kernel log gets them only while no auditd runs, and rate-limited for the whole host (a
 * burst of ten per five seconds), so one busy function would hide everyone else's. */
int main(int argc, char **argv) {
  argc--;
  argv++;
  int check = argc == 1 && strcmp(argv[0], "--check") == 0;
  if (argc > 0 && !check) { msg("usage: %s [--check]", prog); return EXIT_USAGE; }
  /* Dies with the server, its only reader. */
  pid_t parent = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != parent) return EXIT_SETUP;
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
  if (s < 0) { msg("cannot open the kernel's audit socket: %s", strerror(errno)); return EXIT_SETUP; }
  struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = 1u << (AUDIT_NLGRP_READLOG - 1) };
  if (bind(s, (struct sockaddr *)&addr, sizeof addr) != 0) { msg("cannot read the kernel's audit records: %s", strerror(errno)); return EXIT_SETUP; }
  if (check) return 0;
  /* Room for bursts: a full socket drops records (ENOBUFS). FORCE needs CAP_NET_ADMIN. */
  int size = 8 << 20;
  if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) setsockopt(s, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  printf("ready\n");
  fflush(stdout);
  static char buf[16384];
  char rec[9000]; /* the kernel caps a record at 8970 bytes (MAX_AUDIT_MESSAGE_LENGTH) */
  for (;;) {
    ssize_t n = recv(s, buf, sizeof buf, 0);
    /* ENOBUFS: records were lost to a full socket; the next ones still come. */
    if (n < 0 && (errno == EINTR || errno == ENOBUFS)) continue;
    if (n < 0) { msg("reading audit records: %s", strerror(errno)); return EXIT_SETUP; }
    int len = (int)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type != AUDIT_SECCOMP) continue;
      size_t size_rec = h->nlmsg_len - NLMSG_HDRLEN;
      if (size_rec >= sizeof rec) size_rec = sizeof rec - 1;
      memcpy(rec, NLMSG_DATA(h), size_rec);
      rec[size_rec] = '\0';
      report(rec);
    }
    if (ferror(stdout)) return 0;
  }
}

