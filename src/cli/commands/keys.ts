/** `ferry keys rotate`: new current keys for token signing and secret sealing, on a data dir. */
import type { Command } from 'commander';
import type { IO } from '../output.js';
import { table } from '../output.js';

export function register(program: Command, io: IO): void {
  program
    .command('keys')
    .description('the server keys of a data dir')
    .command('rotate')
    .description('add a new current key for access tokens and for secrets; the earlier keys keep working')
    .option('--data-dir <dir>', 'the data dir (FERRY_DATA_DIR, default ./.ferry)')
    .action(async (opts: { dataDir?: string }) => {
      // Loaded on demand: the other commands never open a store.
      const { rotateKeys } = await import('../../server/rotate-keys.js');
      const rotated = await rotateKeys(opts.dataDir ?? process.env.FERRY_DATA_DIR ?? './.ferry');
      io.stdout.write(`${table(['key set', 'current key', 'keys'], rotated.map((r) => [r.name, r.current, String(r.keys)]))}\n`);
    });
}
