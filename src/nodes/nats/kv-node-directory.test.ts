/** KvNodeDirectory: the NodeDirectory conformance suite against a real nats-server. */
import { after, before } from 'node:test';
import { randomBytes } from 'node:crypto';
import { startNatsServer, type NatsServer } from '../../../test/support/nats-server.js';
import { nodeDirectorySuite } from '../nodes.suite.js';
import { KvNodeDirectory } from './kv-node-directory.js';

let server: NatsServer;
before(async () => {
  server = await startNatsServer();
});
after(() => server.stop());

nodeDirectorySuite('KvNodeDirectory', async () => {
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const opened: KvNodeDirectory[] = [];
  return {
    async open(ttlMs) {
      const d = await KvNodeDirectory.open({ nats: { servers: [server.url] }, prefix, ttlMs });
      opened.push(d);
      return d;
    },
    async cleanup() {
      for (const d of opened) await d.close();
    },
  };
});
