/**
 * One real nats-server for a whole test file: started in `before`, stopped in `after`. Returns a
 * getter, since the server exists only once `before` has run.
 */
import { after, before } from 'node:test';
import { startNatsServer, type NatsServer, type NatsServerOptions } from './nats-server.js';

export function natsServerPerFile(opts: NatsServerOptions = {}): () => NatsServer {
  let nats: NatsServer | undefined;
  before(async () => {
    nats = await startNatsServer(opts);
  });
  after(async () => {
    await nats?.stop();
  });
  return () => nats ?? assertStarted();
}

function assertStarted(): never {
  throw new Error('the nats-server of this file is not started yet (use it inside a test)');
}
