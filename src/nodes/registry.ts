/**
 * Where nodes announce themselves, by the store kind that brings it: the embedded store keeps
 * heartbeats as files in the data dir (one machine), NATS in a key-value bucket.
 */
import type { NodeDirectory } from '../core/nodes.js';
import type { NatsConnectOptions } from '../nats/index.js';
import { FileNodeDirectory } from './files/file-node-directory.js';

export interface NodeDirectoryOptions {
  dataDir: string;
  /** A heartbeat not renewed within this long is gone. */
  ttlMs: number;
  nats?: NatsConnectOptions;
  /** Names the NATS bucket (`<prefix>_nodes`). */
  prefix?: string;
}

export const nodeDirectories = {
  sqlite: async (opts: NodeDirectoryOptions): Promise<NodeDirectory> => new FileNodeDirectory(opts.dataDir, opts.ttlMs),
  nats: async (opts: NodeDirectoryOptions): Promise<NodeDirectory> => {
    if (!opts.nats) throw new Error('the NATS node directory needs the NATS connection options');
    // Loaded only on a NATS store: its module imports the client's types only, but keep it apart.
    const { KvNodeDirectory } = await import('./nats/kv-node-directory.js');
    return KvNodeDirectory.open({ nats: opts.nats, prefix: opts.prefix ?? 'ferry', ttlMs: opts.ttlMs });
  },
} satisfies Record<string, (opts: NodeDirectoryOptions) => Promise<NodeDirectory>>;

export type NodeDirectoryKind = keyof typeof nodeDirectories;

export function openNodeDirectory(kind: string, opts: NodeDirectoryOptions): Promise<NodeDirectory> {
  if (!Object.hasOwn(nodeDirectories, kind)) throw new Error(`unknown store '${kind}' for the node directory (known: ${Object.keys(nodeDirectories).join(', ')})`);
  return nodeDirectories[kind as NodeDirectoryKind](opts);
}
