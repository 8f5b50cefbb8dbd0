/**
 * The nodes of a cluster as they announce themselves: every node writes a heartbeat record at an
 * interval, and a record not renewed within the directory's time to live is gone. Gateways read
 * it to choose a worker for a call; `ferry cluster status` and the autoscaler read it too.
 */
import type { InstanceInfo, PoolStatus } from './pool.js';

/** What a node can do: serve the API and surfaces, and run instances. */
export type NodeRole = 'gateway' | 'worker';

/** One node's heartbeat. */
export interface NodeRecord {
  /** Stable across restarts of the node (its data dir's node id). */
  id: string;
  /** New at every start: a gateway tells a restarted worker from the one it knew. */
  boot: string;
  roles: NodeRole[];
  /** Where gateways reach this worker (`http://host:port`); absent on gateway-only nodes. */
  address?: string;
  /** Ferry's version on the node. */
  release: string;
  /** On a gateway with `--compat shortedfaas`: the deploy folder it would watch (its absolute path). */
  deployDir?: string;
  startedAt: number;
  /** When this heartbeat was written (ms since the epoch, the node's clock). */
  at: number;
  /** What the worker runs now. */
  load: {
    /** Calls and executions running on its instances. */
    inFlight: number;
    /** Instances running (any state). */
    instances: number;
    /** Async executions this worker holds. */
    executions: number;
  };
  /** What it may take: its instance slots and memory for instances. */
  capacity: { instances: number; memoryMb: number };
  /** Versions with a ready instance on it, as `function@version`: a call for one goes there first. */
  warm: string[];
  /** Its instances (`GET /v1/functions/{name}/instances` on a gateway lists every worker's). */
  instances?: InstanceInfo[];
  /** Its pre-booted pool. */
  pool?: PoolStatus;
}

/** The live nodes of a cluster, as a store shared by all of them holds them. */
export interface NodeDirectory {
  /** Writes (or renews) this node's heartbeat. */
  announce(rec: NodeRecord): Promise<void>;
  /** The nodes whose heartbeat is younger than the time to live, by id. */
  list(): Promise<NodeRecord[]>;
  /** Removes this node's record at once (a clean stop), instead of waiting for it to expire. */
  leave(id: string): Promise<void>;
  close(): Promise<void>;
}
