/** FileNodeDirectory: the NodeDirectory conformance suite on real files in a temp dir. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { nodeDirectorySuite } from '../nodes.suite.js';
import { FileNodeDirectory } from './file-node-directory.js';

nodeDirectorySuite('FileNodeDirectory', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-nodes-'));
  return {
    async open(ttlMs) {
      return new FileNodeDirectory(dir, ttlMs);
    },
    async cleanup() {
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
});
