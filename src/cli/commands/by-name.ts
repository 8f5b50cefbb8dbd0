/**
 * Which module registers each top-level `ferry` command, so that a run of one command loads that
 * module alone (commander, its options and its action), not the thirty others and everything
 * they import: most of a short command's start-up. Help, `--version`, a typo and anything not
 * named here load every command (commands/index.ts), as `ferry --help` and commander's
 * suggestions need. cli/by-name.test.ts checks this table against what each module registers.
 */
import type { CommandModule } from './index.js';

export const commandModules: Readonly<Record<string, () => Promise<CommandModule>>> = {
  server: () => import('./server.js'),
  tinyfaas: () => import('./tinyfaas.js'),
  init: () => import('./init.js'),
  deploy: () => import('./deploy.js'),
  invoke: () => import('./invoke.js'),
  run: () => import('./run.js'),
  functions: () => import('./functions.js'),
  versions: () => import('./versions.js'),
  aliases: () => import('./aliases.js'),
  logs: () => import('./logs.js'),
  executions: () => import('./executions.js'),
  delete: () => import('./delete.js'),
  doctor: () => import('./doctor.js'),
  keys: () => import('./keys.js'),
  login: () => import('./login.js'),
  register: () => import('./login.js'),
  logout: () => import('./login.js'),
  users: () => import('./users.js'),
  tokens: () => import('./tokens.js'),
  secrets: () => import('./secrets.js'),
  objects: () => import('./objects.js'),
  config: () => import('./config.js'),
  start: () => import('./instances.js'),
  stop: () => import('./instances.js'),
  instances: () => import('./instances.js'),
  pool: () => import('./instances.js'),
  schedules: () => import('./schedules.js'),
  invocations: () => import('./invocations.js'),
  traffic: () => import('./traffic.js'),
  cluster: () => import('./cluster.js'),
  autoscaler: () => import('./autoscaler.js'),
  whoami: () => import('./whoami.js'),
  invites: () => import('./whoami.js'),
  openapi: () => import('./openapi.js'),
  up: () => import('./up.js'),
  errors: () => import('./explain.js'),
  rootfs: () => import('./rootfs.js'),
};

/** The program's options that take a value (`ferry --url U functions`). */
const valued = new Set(['--url', '--token']);

/**
 * The module of the command `argv` (process.argv) runs, when it names exactly one; undefined when
 * the whole program is needed (no command, help, the version, an unknown name).
 */
export function commandModuleFor(argv: readonly string[]): (() => Promise<CommandModule>) | undefined {
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i]!;
    if (valued.has(arg)) {
      i++;
      continue;
    }
    if (arg.startsWith('--url=') || arg.startsWith('--token=')) continue;
    // -h, --help, -V, --version, an unknown option: commander answers them from the whole program.
    if (arg.startsWith('-')) return undefined;
    return Object.hasOwn(commandModules, arg) ? commandModules[arg] : undefined;
  }
  return undefined;
}
