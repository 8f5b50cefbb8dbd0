/** `ferry doctor`: what the sandbox can use on this host, and the fix for anything missing. */
import type { Command } from 'commander';
import type { IO } from '../output.js';
import { table } from '../output.js';

export function register(program: Command, io: IO): void {
  program
    .command('doctor')
    .description('check bwrap, user namespaces, seccomp, cgroups, network stacks, KVM and the data dir on this host')
    .option('--json', 'print the report as JSON')
    .option('--data-dir <dir>', 'the data dir a server would use (FERRY_DATA_DIR, default ./.ferry)')
    .option('--sandbox-uid <uid>', 'the uid instances run as (FERRY_SANDBOX_UID, default 2000000)')
    .action(async (opts: { json?: boolean; dataDir?: string; sandboxUid?: string }) => {
      // Loaded on demand: the other commands never pay for the probes.
      const { probeHost } = await import('../../sandbox/host/probe.js');
      const dataDir = opts.dataDir ?? process.env.FERRY_DATA_DIR ?? './.ferry';
      const sandboxUid = Number(opts.sandboxUid ?? process.env.FERRY_SANDBOX_UID ?? 2_000_000);
      if (!Number.isInteger(sandboxUid) || sandboxUid <= 0) throw new Error(`--sandbox-uid: '${opts.sandboxUid ?? process.env.FERRY_SANDBOX_UID}' is not a uid above 0`);
      const report = await probeHost({ dataDir, sandboxUid });
      if (opts.json) {
        io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      } else {
        io.stdout.write(`${table(['check', 'ok', 'found'], report.checks.map((c) => [c.name, c.ok ? 'yes' : c.required ? 'NO' : 'no', c.detail]))}\n`);
        const fixes = report.checks.filter((c) => !c.ok && c.fix);
        if (fixes.length) {
          io.stdout.write('\nTo fix:\n');
          for (const c of fixes) io.stdout.write(`  ${c.name}: ${c.fix}\n`);
        }
        io.stdout.write(`\nThe sandbox will use:\n${table(['feature', 'mechanism'], Object.entries(report.uses).map(([k, v]) => [k, v]))}\n`);
      }
      const missing = report.checks.filter((c) => c.required && !c.ok);
      // Thrown, so the program's one-line error and exit code 1 apply.
      if (missing.length) throw new Error(`the bwrap sandbox cannot run here (${missing.map((c) => c.name).join(', ')}); see the fixes above`);
    });
}
