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
    .option('--store <store>', "the server's store (FERRY_STORE, default sqlite): a NATS URL rotates the keys every node shares; the NATS login comes from the same FERRY_NATS_* variables as the server's")
    .action(async (opts: { dataDir?: string; store?: string }) => {
      // Loaded on demand: the other commands never open a store.
      const { rotateKeys } = await import('../../server/rotate-keys.js');
      const rotated = await rotateKeys({ dataDir: opts.dataDir ?? process.env.FERRY_DATA_DIR ?? './.ferry', ...(opts.store ? { store: opts.store } : {}) });
      io.stdout.write(`${table(['key set', 'current key', 'keys'], rotated.map((r) => [r.name, r.current, String(r.keys)]))}\n`);
    });
}
