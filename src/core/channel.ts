import type { Duplex } from 'node:stream';

/**
 * What a runtime speaks over its instance's channel: Ferry's frame protocol (a shim) or HTTP (a
 * server the function runs itself). The driver carries either; it never looks inside.
 */
export type ChannelProtocol = 'frames' | 'http';

/** Opens a new stream to an instance (see `SandboxProcess.dial`). */
export type Dialer = () => Promise<Duplex>;

/** Takes each stream an instance opens to Ferry (its instance API calls). */
export type InstanceStreamHandler = (stream: Duplex) => void;

/**
 * Where the code inside a sandbox finds the channel, as it names it (a path in its run dir, a
 * device): the driver's to choose, handed to runtimes through the view.
 */
export interface ChannelAddresses {
  /** Where a shim of the frame protocol listens for Ferry (`FERRY_SOCKET`). */
  frames: string;
  /** Where an HTTP server (or the relay in front of it) listens for Ferry (`FERRY_SOCKET`). */
  http: string;
  /** Where the instance reaches Ferry's instance API (`FERRY_API_SOCKET`). */
  api: string;
}

/** The `code` of a dial that found nothing listening yet: a start retries it, anything else is final. */
export const NOT_LISTENING = 'ERR_FERRY_NOT_LISTENING';

/** Whether a dial failed only because the instance does not listen yet. */
export function notListening(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === NOT_LISTENING;
}
