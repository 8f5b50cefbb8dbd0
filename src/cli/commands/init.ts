/** `ferry init <dir> --runtime R [--typescript]`: a new function folder from a template. */
import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { isValidName } from '../args.js';
import { CliError, usageError } from '../errors.js';
import { processIO, type IO } from '../output.js';
import { templatesDir } from '../paths.js';

export const initRuntimes = ['node', 'python', 'exec', 'http'] as const;
export type InitRuntime = (typeof initRuntimes)[number];

export interface InitArgs {
  dir: string;
  runtime: InitRuntime;
  typescript?: boolean;
  /** Defaults to the shipped templates folder. */
  templates?: string;
}

/** Copies the template into `dir` (created; refused when it exists and is not empty). Returns the files. */
export function init(args: InitArgs): { template: string; dir: string; files: string[] } {
  if (!(initRuntimes as readonly string[]).includes(args.runtime)) {
    throw usageError(`--runtime must be one of ${initRuntimes.join(', ')}`);
  }
  if (args.typescript && args.runtime !== 'node') throw usageError('--typescript only applies to --runtime node');
  const template = args.runtime === 'node' && args.typescript ? 'node-ts' : args.runtime;
  const src = join(args.templates ?? templatesDir(), template);
  if (!existsSync(join(src, 'ferry.json'))) throw new CliError(`template '${template}' not found in ${src}`);
  const dir = resolve(args.dir);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new CliError(`${args.dir} exists and is not a directory`);
    if (readdirSync(dir).length > 0) throw new CliError(`${args.dir} is not empty; pick a new folder`);
  }
  // cpSync keeps file modes, so run.sh stays executable.
  cpSync(src, dir, { recursive: true, errorOnExist: true, force: false });
  return { template, dir, files: listFiles(dir) };
}

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name), base) : [relative(base, join(dir, e.name))]))
    .sort();
}

export function nextSteps(dir: string): string {
  const shown = relative(process.cwd(), resolve(dir)) || '.';
  const base = basename(resolve(dir)).toLowerCase();
  const name = isValidName(base) ? base : 'my-function';
  const deploy = isValidName(base) ? `ferry deploy ${shown}` : `ferry deploy ${shown} --name ${name}`;
  return ['Next steps:', `  ${deploy}`, `  ferry invoke ${name}`, `  ferry logs ${name} -f`, ''].join('\n');
}

export function register(program: Command, io: IO = processIO): void {
  program
    .command('init')
    .description('create a function folder from a template')
    .argument('<dir>', 'folder to create (must be new or empty)')
    .addOption(new Option('--runtime <runtime>', 'runtime of the function').choices([...initRuntimes]).makeOptionMandatory())
    .option('--typescript', 'with --runtime node: a TypeScript handler')
    .action((dir: string, opts: { runtime: InitRuntime; typescript?: boolean }) => {
      const done = init({ dir, runtime: opts.runtime, typescript: opts.typescript === true });
      io.stdout.write(`Created ${relative(process.cwd(), done.dir) || '.'} from the ${done.template} template: ${done.files.join(', ')}\n\n`);
      io.stdout.write(nextSteps(dir));
    });
}
