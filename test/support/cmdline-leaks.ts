import { readdirSync, readFileSync } from 'node:fs';

/**
 * The process-table half of the leak check: `/proc/<pid>/cmdline` is readable by every user of
 * the host, so no secret value, password or token may ever be on a command line. Every process
 * of the host is searched for the values a test named; the server's own process tree (every
 * instance's helper, network stack, bwrap and runtime, the pool's sandboxes, the egress router)
 * is also searched for anything shaped like a Ferry token, instance tokens included, which no
 * test knows in advance.
 */

/** A Ferry API or instance token (`fry_` and 256 random bits in base64url). */
const tokenShape = /fry_[A-Za-z0-9_-]{32,}/;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // exited while we looked
  }
}

/** Every pid of the host with its parent pid. */
function processTable(): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = read(`/proc/${entry}/stat`);
    if (!stat) continue;
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    out.set(Number(entry), ppid);
  }
  return out;
}

/** `root` and every process below it. */
export function descendants(root: number, table = processTable()): Set<number> {
  const out = new Set<number>([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of table) {
      if (!out.has(pid) && out.has(ppid)) {
        out.add(pid);
        grew = true;
      }
    }
  }
  return out;
}

/**
 * One look at the process table: command lines holding one of `values` (any process but this
 * one), or a token (the processes under `root`). Answers one line per leak.
 */
export function cmdlineLeaks(values: Iterable<string>, root: number | undefined): string[] {
  const table = processTable();
  const tree = root === undefined ? new Set<number>() : descendants(root, table);
  const wanted = [...values];
  const leaks: string[] = [];
  for (const pid of table.keys()) {
    if (pid === process.pid) continue;
    const cmdline = read(`/proc/${pid}/cmdline`)?.split('\0').join(' ');
    if (!cmdline) continue;
    const hit = wanted.find((v) => cmdline.includes(v)) ?? (tree.has(pid) ? tokenShape.exec(cmdline)?.[0] : undefined);
    if (hit) leaks.push(`command line of pid ${pid}${tree.has(pid) ? ' (under the server)' : ''} holds ${hit.slice(0, 8)}...: ${cmdline.replace(hit, '<secret>').slice(0, 300)}`);
  }
  return leaks;
}

/**
 * Looks at the process table every `intervalMs` while a server runs, so that what is on a
 * command line only while instances run is seen too; `stop()` looks once more and answers
 * every leak seen.
 */
export class CmdlineWatch {
  private readonly leaks = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly values: () => Iterable<string>,
    private readonly root: number | undefined,
    intervalMs = 1000,
  ) {
    this.timer = setInterval(() => this.look(), intervalMs);
    this.timer.unref();
  }

  look(): void {
    for (const l of cmdlineLeaks(this.values(), this.root)) this.leaks.add(l);
  }

  stop(): string[] {
    clearInterval(this.timer);
    this.look();
    return [...this.leaks];
  }
}
