/*
 * try-syscall: test probe for Ferry's seccomp filters (built by the tests, never shipped).
 *
 *   try-syscall NAME [ARG0 [ARG1 [ARG2]]] [--x32]
 *
 * Resolves NAME with libseccomp (the same table the filter was compiled from, so the test names
 * syscalls, not numbers), calls syscall(nr, ARG0, ARG1, ARG2, 0, 0) and prints "ok RESULT" or
 * "errno N NAME". Missing arguments are 0. --x32 sets the x32 ABI bit, to check that other ABIs
 * cannot walk around the filter.
 * A clone that succeeds leaves a child; it exits at once and is reaped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: try-syscall NAME [ARG0 [ARG1 [ARG2]]] [--x32]\n"); return 2; }
  int x32 = 0, nargs = 0;
  unsigned long args[3] = { 0, 0, 0 };
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--x32") == 0) x32 = 1;
    else if (nargs < 3) args[nargs++] = strtoul(argv[i], NULL, 0);
    else { fprintf(stderr, "try-syscall: at most three arguments\n"); return 2; }
  }
  int nr = seccomp_syscall_resolve_name(argv[1]);
  if (nr < 0) { fprintf(stderr, "try-syscall: %s has no number here\n", argv[1]); return 2; }
  long sysnr = x32 ? (nr | 0x40000000L) : nr;
  fflush(stdout);
  long r = syscall(sysnr, args[0], args[1], args[2], 0, 0);
  int err = errno;
  int forks = strcmp(argv[1], "clone") == 0 || strcmp(argv[1], "fork") == 0;
  /* The child of a successful clone/fork sees 0: it leaves without touching stdio. */
  if (forks && r == 0) _exit(0);
  if (forks && r > 0) waitpid((pid_t)r, NULL, __WALL);
  if (r == -1) printf("errno %d %s\n", err, strerrorname_np(err) ? strerrorname_np(err) : "?");
  else printf("ok %ld\n", r);
  return 0;
}
