/*
 * ferry-mountd: the mount service of the pre-booted sandbox pool.
 *
 * A pooled sandbox is started before anyone knows which function it will run: its /pkg is an
 * empty "slot" directory on the host that is a shared mount, so a mount the host later puts on
 * the slot propagates into the sandbox (bwrap makes its copy a slave). Handing a function to
 * the sandbox is then one read-only bind of the function's package onto the slot. That bind is
 * on the path of a cold call, and spawning mount(8) costs milliseconds, so this small process,
 * started once by the server (as root), does the mount system calls on request instead.
 *
 * Protocol: one request per line on stdin, fields separated by TAB; one answer line per request
 * on stdout, in order: "ok" or "err MESSAGE".
 *   slot DIR          bind DIR onto itself and make it a shared mount (peer group of its own)
 *   bind-ro SRC DIR   mount SRC on DIR read-only, nosuid, nodev; read-only from its first
 *                     moment, so every propagated copy (the sandbox's /pkg) is read-only too
 *   unmount DIR       lazily detach every mount stacked on DIR ("ok" when none is left)
 *   runfs DIR BYTES FILES UID
 *                     mount a tmpfs of at most BYTES and FILES inodes on DIR, mode 0700, owned
 *                     by UID (gid the same), nosuid, nodev, noexec: an instance's run dir, so
 *                     that filling it fills neither the data dir's disk nor the host's memory
 * It exits when stdin closes or the server dies (PR_SET_PDEATHSIG): it never outlives Ferry.
 * Policy (which paths) is decided by the server; this file checks only that paths are absolute.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The new mount API's numbers are the same on every architecture Ferry runs on. */
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

static char reply[PATH_MAX + 128];

static int fail(const char *what, const char *path) {
  snprintf(reply, sizeof reply, "err %s %s: %s", what, path, strerror(errno));
  return -1;
}

static int do_slot(const char *dir) {
  if (mount(dir, dir, NULL, MS_BIND, NULL) != 0) return fail("bind", dir);
  /* Shared: mounts on it reach the sandboxes whose /pkg was bound from it. */
  if (mount(NULL, dir, NULL, MS_SHARED, NULL) != 0) {
    int err = errno;
    umount2(dir, MNT_DETACH);
    errno = err;
    return fail("make-shared", dir);
  }
  return 0;
}

/*
 * Preferred: clone SRC as a detached mount, make it read-only while it is still detached, then
 * attach it. The classic bind-then-remount would first attach (and propagate) a writable copy,
 * and a remount never propagates: the sandbox's copy would stay writable.
 */
static int bind_ro_new_api(const char *src, const char *dir) {
  int fd = (int)syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
  if (fd < 0) return -1;
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };
  if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof attr) != 0 ||
      syscall(SYS_move_mount, fd, "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  close(fd);
  return 0;
}

/*
 * Kernels before 5.12 (no mount_setattr): bind SRC on a staging directory next to the slot,
 * make that read-only, bind it onto the slot (a bind copies the read-only flag), drop the stage.
 */
static int bind_ro_staged(const char *src, const char *dir) {
  char stage[PATH_MAX];
  if (snprintf(stage, sizeof stage, "%s.stage", dir) >= (int)sizeof stage) { errno = ENAMETOOLONG; return fail("stage", dir); }
  if (mkdir(stage, 0700) != 0 && errno != EEXIST) return fail("mkdir", stage);
  int rc = -1;
  if (mount(src, stage, NULL, MS_BIND, NULL) != 0) fail("bind", src);
  else if (mount(NULL, stage, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0) fail("remount read-only", stage);
  else if (mount(stage, dir, NULL, MS_BIND, NULL) != 0) fail("bind", dir);
  else rc = 0;
  umount2(stage, MNT_DETACH);
  rmdir(stage);
  return rc;
}

static int do_bind_ro(const char *src, const char *dir) {
  if (bind_ro_new_api(src, dir) == 0) return 0;
  if (errno != ENOSYS) return fail("read-only bind", src);
  return bind_ro_staged(src, dir);
}

static int do_unmount(const char *dir) {
  /* The package mount sits on the slot's self-bind: detach the topmost until none is left. */
  for (int i = 0; i < 64; i++) {
    if (umount2(dir, MNT_DETACH | UMOUNT_NOFOLLOW) == 0) continue;
    if (errno == EINVAL || errno == ENOENT) return 0; /* not (or no longer) a mount point */
    return fail("unmount", dir);
  }
  errno = EBUSY;
  return fail("unmount (too many stacked mounts)", dir);
}

/* A decimal number in [1, max], nothing else. */
static int number(const char *s, unsigned long long max, unsigned long long *out) {
  if (s == NULL || *s < '0' || *s > '9') return 0;
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v == 0 || v > max) return 0;
  *out = v;
  return 1;
}

static int do_runfs(const char *dir, const char *bytes, const char *files, const char *uid) {
  unsigned long long size, inodes, owner;
  /* Caps fit in a few MiB; the sandbox uid is never root (0 is refused by number()). */
  if (!number(bytes, 1ULL << 40, &size) || !number(files, 1ULL << 32, &inodes) || !number(uid, 0xfffffffeULL, &owner)) {
    snprintf(reply, sizeof reply, "err runfs: bad size, file count or uid");
    return -1;
  }
  char opts[160];
  snprintf(opts, sizeof opts, "size=%llu,nr_inodes=%llu,mode=0700,uid=%llu,gid=%llu", size, inodes, owner, owner);
  if (mount("ferry-run", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) != 0) return fail("mount tmpfs", dir);
  return 0;
}

static int absolute(const char *p) {
  return p != NULL && p[0] == '/' && strlen(p) < PATH_MAX - 16;
}

static void handle(char *line) {
  char *save = NULL;
  char *op = strtok_r(line, "\t", &save);
  char *a = strtok_r(NULL, "\t", &save);
  char *b = strtok_r(NULL, "\t", &save);
  char *c = strtok_r(NULL, "\t", &save);
  char *d = strtok_r(NULL, "\t", &save);
  int rc;
  reply[0] = '\0';
  if (op == NULL) { snprintf(reply, sizeof reply, "err empty request"); rc = -1; }
  else if (strcmp(op, "slot") == 0 && absolute(a) && b == NULL) rc = do_slot(a);
  else if (strcmp(op, "bind-ro") == 0 && absolute(a) && absolute(b)) rc = do_bind_ro(a, b);
  else if (strcmp(op, "unmount") == 0 && absolute(a) && b == NULL) rc = do_unmount(a);
  else if (strcmp(op, "runfs") == 0 && absolute(a) && d != NULL && strtok_r(NULL, "\t", &save) == NULL) rc = do_runfs(a, b, c, d);
  else { snprintf(reply, sizeof reply, "err bad request %s", op); rc = -1; }
  if (rc == 0) fputs("ok\n", stdout);
  else fprintf(stdout, "%s\n", reply);
  fflush(stdout);
}

int main(int argc, char **argv) {
  (void)argv;
  if (argc != 1) { fputs("usage: ferry-mountd (requests on stdin; see the source)\n", stderr); return 2; }
  /* Die with the server: a root process taking mount requests must not outlive its only client. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return 1;
  char line[2 * PATH_MAX + 64];
  while (fgets(line, sizeof line, stdin) != NULL) {
    size_t n = strlen(line);
    if (n == 0 || line[n - 1] != '\n') { fputs("err request too long\n", stdout); fflush(stdout); return 2; }
    line[n - 1] = '\0';
    handle(line);
  }
  return 0;
}
