/**
 * The conformance suite every sandbox driver runs (one test file per driver calls `driverSuite`):
 * lifecycle through the driver's channel (start, HELLO, call, stop, exit reasons), the
 * instance's own streams to Ferry, logs, stop under load, and for drivers that isolate: the
 * escape checks (host files, other instances, host services, ptrace, mount, raw sockets,
 * keyring), the network policies and the limits. Runtimes arrive as arguments: a driver knows
 * none. The escape checks (escape-probes.ts) are shared with the server-level escape suite
 * (test/escape.test.ts), so both test the same attempts.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { CallSignal, defaultExecutionSettings, defaultLimits, defaultPrivacySettings, defaultSandbox, defaultScaling, notListening } from '../core/index.js';
import { byPath, filesystemChecks, filesystemRefused, forkBomb, hostAddresses, hostServiceChecks, instanceStreamCheck, kernelChecks, kernelRefused, processChecks, pythonProbe, refused, tcpChecks, tmpFill } from './escape-probes.js';
import { createTestNetns, markerServerArgv, ready as serverReady, type TestNetns } from '../../test/support/netns.js';
import { Answer } from './suite-answer.js';
import type { Connector, EffectiveConfig, InstanceStreamHandler, Runtime, SandboxDriver, SandboxProcess, SandboxSettings } from '../core/index.js';

/** A driver under test, as its test file builds it. */
export interface DriverUnderTest {
  name: string;
  /** Why it cannot run here (outside CI only: under CI=true the test file fails instead). */
  skip: string | false;
  /** Whether it isolates: the escape, network and limit parts are run only then (not for `process`). */
  isolated: boolean;
  /** Builds the driver on a data dir of its own (0711, reachable by the sandbox user); `close` undoes it. */
  open(dataDir: string): Promise<{ driver: SandboxDriver; close(): Promise<void> }>;
  /** The python runtime (the probes are python, as the escape suite's). */
  python: Runtime;
  /** Sandbox settings every instance of the suite starts with (e.g. a tier's only network policy). */
  sandboxDefaults?: Partial<SandboxSettings>;
  /** How long an instance may take from spawn to its shim's HELLO (default 60 s; an emulated VM takes longer). */
  readyMs?: number;
  /** The network policies the driver honours (default all): each other one must be refused at spawn. */
  networks?: Array<'none' | 'egress' | 'host'>;
}

/** One instance the suite started: its process, its connector, what it printed. */
interface Started {
  proc: SandboxProcess;
  connector: Connector;
  output(): string;
  ready(ms?: number): Promise<void>;
  call(path?: string): Promise<{ status: number; body: Record<string, unknown> }>;
}

/** Runs the conformance suite for one driver. */
export function driverSuite(d: DriverUnderTest): void {
  const skip = d.skip;
  let driver: SandboxDriver;
  let close: () => Promise<void>;
  let dataDir: string;
  let hostServer: Server;
  let hostPort = 0;
  let outside: TestNetns | undefined;
  let outsidePort = 0;
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    if (skip) return;
    dataDir = join('/tmp', `ferry-suite-${d.name}-${randomUUID().slice(0, 8)}`);
    await mkdir(join(dataDir, 'run'), { recursive: true, mode: 0o711 });
    await chmod(dataDir, 0o711);
    ({ driver, close } = await d.open(dataDir));
    // A TCP service on the host, on every address: an isolated instance must reach none of them.
    hostServer = createServer((s) => s.end('host secret\n'));
    await new Promise<void>((r) => hostServer.listen(0, '0.0.0.0', r));
    hostPort = (hostServer.address() as { port: number }).port;
    // "The internet" for `egress`: a server in a test namespace, on a public and a private address.
    if (d.isolated && (d.networks?.includes('egress') ?? true)) {
      outside = createTestNetns();
      outsidePort = 20_000 + (process.pid % 1000);
      await serverReady(outside.spawn(markerServerArgv(outsidePort, 'outside')));
    }
  });
  after(async () => {
    if (skip) return;
    // Every instance the suite left running stops at once: one by one, a tier whose stop takes
    // seconds (gVisor's) kept the file running for minutes after its last case.
    await Promise.all(cleanups.splice(0).map((c) => c().catch(() => {})));
    hostServer.close();
    await outside?.cleanup();
    await close();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Starts `body` as a python instance under `config`'s sandbox settings and limits. */
  async function start(body: string, over: { sandbox?: Partial<SandboxSettings>; limits?: Partial<EffectiveConfig['limits']>; env?: Record<string, string>; onInstanceStream?: InstanceStreamHandler } = {}): Promise<Started> {
    const id = `suite-${randomUUID().slice(0, 8)}`;
    const packageDir = join(dataDir, 'pkg', id);
    const runDir = join(dataDir, 'run', id);
    await mkdir(packageDir, { recursive: true, mode: 0o755 });
    await chmod(join(dataDir, 'pkg'), 0o755);
    await writeFile(join(packageDir, 'main.py'), pythonProbe(body), { mode: 0o644 });
    await mkdir(runDir, { mode: 0o700 });
    await driver.prepareRunDir?.(runDir);
    const config: EffectiveConfig = {
      runtime: 'python', handler: 'main.py', command: undefined, env: over.env ?? {}, secrets: [],
      ...defaultExecutionSettings, ...defaultPrivacySettings, recordPayloads: false, invoke: 'public',
      scaling: defaultScaling, limits: { ...defaultLimits, ...over.limits }, sandbox: { ...defaultSandbox, ...d.sandboxDefaults, ...over.sandbox },
    };
    const view = driver.view({ packageDir, runDir });
    const env = { ...config.env, FERRY_FUNCTION: 'suite', FERRY_VERSION: '1', FERRY_INSTANCE: id, FERRY_API_SOCKET: view.channel.api };
    const plan = d.python.launch({ instanceId: id, view, packageDir, config, env, port: 0, networkIsolated: driver.isolated && config.sandbox.network !== 'host' });
    const proc = await driver.spawn({
      instanceId: id, argv: plan.argv, env: plan.env, packageDir, runDir, cwd: plan.cwd, limits: config.limits, sandbox: config.sandbox, rootfs: plan.rootfs, runtime: 'python',
      ...(plan.channel && { channel: plan.channel }), ...(over.onInstanceStream && { onInstanceStream: over.onInstanceStream }),
    });
    let output = '';
    proc.child.stdout?.setEncoding('utf8').on('data', (s: string) => (output += s));
    proc.child.stderr?.setEncoding('utf8').on('data', (s: string) => (output += s));
    const connector = d.python.connect({ dial: () => proc.dial() });
    cleanups.push(async () => {
      connector.close();
      await proc.stop(1000);
      await driver.releaseRunDir?.(runDir);
      await rm(runDir, { recursive: true, force: true });
    });
    return {
      proc,
      connector,
      output: () => output,
      // A start that fails says what the instance printed.
      ready: (ms = d.readyMs ?? 60_000) =>
        connector.ready(AbortSignal.timeout(ms)).catch((err: Error) => {
          err.message += `; the instance printed: ${output.slice(-1000)}`;
          throw err;
        }),
      call: async (path = '/') => {
        const answer = new Answer();
        const signal = new CallSignal();
        const timer = setTimeout(() => signal.abort(), 60_000);
        try {
          await connector.dispatch({ method: 'GET', path, headers: [], body: undefined }, answer, { requestId: randomUUID(), signal, onHeaders() {}, extraHeaders: [] });
        } catch (err) {
          // A failed call says how the instance ended, if it did, and what it printed last.
          const c = proc.child;
          if (c.exitCode !== null || c.signalCode !== null) (err as Error).message += `; the instance exited (${c.exitCode ?? c.signalCode})`;
          (err as Error).message += `; the instance printed: ${output.slice(-1000)}`;
          throw err;
        } finally {
          clearTimeout(timer);
        }
        const text = answer.text();
        try {
          return { status: answer.statusCode, body: JSON.parse(text) as Record<string, unknown> };
        } catch {
          return { status: answer.statusCode, body: { raw: text } };
        }
      },
    };
  }

  const exited = (proc: SandboxProcess): Promise<number | string | null> =>
    new Promise((resolve) => {
      const c = proc.child;
      if (c.exitCode !== null || c.signalCode !== null) return resolve(c.exitCode ?? c.signalCode);
      c.once('exit', (code, sig) => resolve(code ?? sig));
    });

  /**
   * One instance answers the probes that only look (what it prints reaching its logs, its own
   * stream to Ferry, host files, the kernel's refusals, and the host's services when the driver's
   * default network is `none`), each at a path of its own, and is the "other instance" another
   * case must not see: a case per instance would cost a VM tier a boot per case (the cases that
   * change or end an instance, or need other settings, start their own). It runs with the
   * driver's defaults and stays up until the suite ends, as every instance here does.
   */
  const lookoutIsNone = d.sandboxDefaults?.network === 'none';
  let lookout: Promise<Started> | undefined;
  const lookoutInstance = (): Promise<Started> =>
    (lookout ??= (async () => {
      const probes: Array<[string, string]> = [
        ['/log', 'print("suite-log-line", flush=True)\nreturn {}'],
        ['/api', instanceStreamCheck],
        ['/files', filesystemChecks],
        ['/kernel', kernelChecks],
        ['/host-services', hostServiceChecks(hostAddresses(), hostPort)],
      ];
      const body = byPath(probes);
      const onInstanceStream: InstanceStreamHandler = (stream) => {
        stream.once('data', (b: Buffer) => {
          streamsSeen.push(b.toString());
          stream.end('from ferry');
        });
      };
      const inst = await start(body, { env: { X_DATA_DIR: dataDir }, onInstanceStream });
      await inst.ready();
      return inst;
    })());
  /** What the lookout's instance stream sent Ferry. */
  const streamsSeen: string[] = [];
  const ask = async (path: '/log' | '/api' | '/files' | '/kernel' | '/host-services'): Promise<Record<string, unknown>> => {
    const { status, body } = await (await lookoutInstance()).call(path);
    assert.equal(status, 200, JSON.stringify(body));
    return body;
  };

  test(`${d.name}: lifecycle: start, HELLO, a call over the channel, then a stop under load: every call in flight settles, the process and its channel are gone`, { skip }, async () => {
    const inst = await start('if request.path == "/slow":\n    time.sleep(0.3)\n    return {"ok": True}\nreturn {"pid": os.getpid(), "cwd": os.getcwd()}');
    await inst.ready();
    const { status, body } = await inst.call();
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(typeof body.pid, 'number');
    const calls = Array.from({ length: 16 }, () => inst.call('/slow').then(() => 'answered', () => 'failed'));
    await new Promise((r) => setTimeout(r, 50));
    await inst.proc.stop(500);
    const outcomes = await Promise.all(calls);
    assert.equal(outcomes.length, 16);
    assert.ok(inst.proc.child.exitCode !== null || inst.proc.child.signalCode !== null, 'stopped');
    assert.equal(inst.connector.lost, true, 'the channel is gone with the instance');
  });

  test(`${d.name}: readiness is the shim's HELLO, not a connect: a listener that never says it is not ready`, { skip }, async () => {
    // A program that listens where the shim would, accepts, and says nothing.
    const id = `suite-${randomUUID().slice(0, 8)}`;
    const runDir = join(dataDir, 'run', id);
    await mkdir(runDir, { mode: 0o700 });
    await driver.prepareRunDir?.(runDir);
    const view = driver.view({ packageDir: runDir, runDir });
    const script = `import socket, os, time\ns = socket.socket(socket.AF_UNIX)\ns.bind(os.environ["FERRY_SOCKET"])\ns.listen(8)\nprint("listening", flush=True)\nwhile True:\n    c, _ = s.accept()\n    time.sleep(0.1)`;
    const proc = await driver.spawn({
      instanceId: id, argv: ['/usr/bin/python3', '-c', script], env: { FERRY_SOCKET: view.channel.frames }, packageDir: runDir, runDir, cwd: '/',
      limits: defaultLimits, sandbox: { ...defaultSandbox, ...d.sandboxDefaults }, rootfs: [], runtime: 'python', channel: 'frames',
    });
    cleanups.push(async () => {
      await proc.stop(1000);
      await driver.releaseRunDir?.(runDir);
      await rm(runDir, { recursive: true, force: true });
    });
    // It does listen: a dial goes through once it is up.
    for (;;) {
      const s = await proc.dial().catch((err: unknown) => (notListening(err) ? undefined : Promise.reject(err)));
      if (s) {
        s.destroy();
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const connector = d.python.connect({ dial: () => proc.dial() });
    cleanups.push(async () => connector.close());
    await assert.rejects(connector.ready(AbortSignal.timeout(2000)), (err: Error & { code?: string }) => err.code === 'instance-start-failed', 'not ready without a HELLO');
  });

  test(`${d.name}: exit reasons: the exit status, and a call on a dead instance fails`, { skip }, async () => {
    const inst = await start('os._exit(3)');
    await inst.ready();
    await assert.rejects(inst.call(), (err: Error & { code?: string }) => err.code === 'instance-crashed');
    assert.equal(await exited(inst.proc), 3);
    assert.equal(await inst.proc.exitReason?.(), undefined, 'not an OOM');
  });

  test(`${d.name}: the instance's own streams reach Ferry through the driver, and nothing else of it`, { skip }, async () => {
    const body = await ask('/api');
    assert.equal(body.answer, 'from ferry', JSON.stringify(body));
    assert.deepEqual(streamsSeen, ['from the instance']);
  });

  test(`${d.name}: logs: what the instance prints reaches its output streams`, { skip }, async () => {
    await ask('/log');
    const inst = await lookoutInstance();
    for (let i = 0; i < 200 && !inst.output().includes('suite-log-line'); i++) await new Promise((r) => setTimeout(r, 25));
    assert.match(inst.output(), /suite-log-line/);
  });

  // What follows applies only to drivers that isolate (not `process`).
  if (d.isolated) isolationSuite();

  function isolationSuite(): void {
    const honours = (network: 'none' | 'egress' | 'host'): boolean => d.networks?.includes(network) ?? true;

    /**
     * One instance with limits of its own answers the cases that check a limit it survives (and,
     * as the instance beside the lookout, what it sees of other processes): pids 32 with memory to
     * spare, so the process limit is what stops a fork bomb (under gVisor each forked process costs
     * the sentry several MB of host memory, and 32 of them overran the default 256 MB); tmpMb 16;
     * cpu 1.5, a quota that is not the default's and slows nothing here. The fork bomb's children
     * sleep 5 s, so `/processes` is asked before it (the cases run in order).
     */
    let limited: Promise<Started> | undefined;
    const limitsInstance = (): Promise<Started> =>
      (limited ??= (async () => {
        const probes: Array<[string, string]> = [
          ['/processes', processChecks],
          ['/fork', forkBomb],
          ['/tmp-fill', tmpFill],
        ];
        const body = byPath(probes);
        const inst = await start(body, { limits: { pids: 32, memoryMb: 1024, tmpMb: 16, cpu: 1.5 } });
        await inst.ready();
        return inst;
      })());

    test(`${d.name}: escape: host files, Ferry's data dir, writes outside /tmp`, { skip }, async () => {
      const body = await ask('/files');
      for (const k of filesystemRefused) assert.ok(refused(body[k]), `${k} must fail: ${JSON.stringify(body[k])}`);
      assert.equal((body.tmp_write as { ok: boolean }).ok, true, 'writing /tmp works');
    });

    test(`${d.name}: escape: other instances and the host's processes are invisible`, { skip }, async () => {
      await lookoutInstance(); // the other instance
      const { body } = await (await limitsInstance()).call('/processes');
      const cmds = body.cmds as string[];
      assert.ok((body.pids as number) <= 5, `few processes visible: ${JSON.stringify(cmds)}`);
      assert.ok(!cmds.some((c) => c.includes('node')), `the server is invisible: ${JSON.stringify(cmds)}`);
      assert.equal(cmds.filter((c) => c.includes('shim.py')).length, 1, `only its own shim, not the other instance's: ${JSON.stringify(cmds)}`);
    });

    test(`${d.name}: escape: ptrace, mount, module loading, namespaces, raw sockets, the keyring`, { skip }, async () => {
      const body = await ask('/kernel');
      for (const k of kernelRefused) assert.ok(refused(body[k]), `${k} must fail: ${JSON.stringify(body[k])}`);
    });

    if (honours('none')) {
      test(`${d.name}: network none: the host's services are unreachable on every address`, { skip }, async () => {
        const addrs = hostAddresses();
        let body: Record<string, unknown>;
        if (lookoutIsNone) body = await ask('/host-services');
        else {
          const inst = await start(hostServiceChecks(addrs, hostPort), { sandbox: { network: 'none' } });
          await inst.ready();
          body = (await inst.call()).body;
        }
        for (const a of addrs) assert.ok(refused(body[a]), `none: ${a}:${hostPort} must be unreachable: ${JSON.stringify(body[a])}`);
      });
    }
    if (honours('egress')) {
      test(`${d.name}: network egress: an outside server is reachable; the host's services and private ranges are not`, { skip }, async () => {
        const hosts = hostAddresses().map((a) => `${a}:${hostPort}`);
        const outsideAddr = `${outside!.nsAddr}:${outsidePort}`;
        const privateAddr = `${outside!.privateAddr}:${outsidePort}`;
        const inst = await start(tcpChecks([outsideAddr, privateAddr, ...hosts]), { sandbox: { network: 'egress' } });
        await inst.ready();
        const { body } = await inst.call();
        assert.deepEqual(body[outsideAddr], { ok: true, result: "b'outside'" }, `the outside server answers: ${JSON.stringify(body)}`);
        assert.ok(refused(body[privateAddr]), `a private range is refused: ${JSON.stringify(body[privateAddr])}`);
        for (const a of hosts) assert.ok(refused(body[a]), `egress: ${a} must be unreachable: ${JSON.stringify(body[a])}`);
      });
    }

    if (honours('host')) {
      test(`${d.name}: network host (where the operator allows it): the host's loopback is reachable, as asked`, { skip }, async () => {
        const inst = await start(hostServiceChecks(['127.0.0.1'], hostPort), { sandbox: { network: 'host' } });
        await inst.ready();
        const { body } = await inst.call();
        assert.equal((body['127.0.0.1'] as { ok: boolean }).ok, true, JSON.stringify(body));
      });
    }

    for (const network of (['none', 'egress', 'host'] as const).filter((n) => !honours(n))) {
      test(`${d.name}: network ${network} is not honoured by this driver: refused at spawn, never run otherwise`, { skip }, async () => {
        await assert.rejects(start('return {}', { sandbox: { network } }), (err: Error & { code?: string }) => err.code === 'invalid-manifest');
      });
    }

    test(`${d.name}: limits: a fork bomb stops at pids`, { skip }, async () => {
      const { body } = await (await limitsInstance()).call('/fork');
      assert.ok((body.forked as number) < 40, `forking stops near limits.pids: ${JSON.stringify(body)}`);
    });

    test(`${d.name}: limits: memory past memoryMb ends the instance, and the driver says why (oom)`, { skip }, async () => {
      const inst = await start('x = bytearray(512 * 1024 * 1024)\nreturn {"allocated": len(x)}', { limits: { memoryMb: 64 } });
      await inst.ready();
      await assert.rejects(inst.call());
      await exited(inst.proc);
      assert.equal(await inst.proc.exitReason?.(), 'oom');
    });

    test(`${d.name}: limits: /tmp holds no more than tmpMb`, { skip }, async () => {
      const { body } = await (await limitsInstance()).call('/tmp-fill');
      assert.equal(body.errno, 28, `ENOSPC: ${JSON.stringify(body)}`);
      assert.ok((body.written as number) <= 16 * 1024 * 1024, JSON.stringify(body));
    });

    test(`${d.name}: limits: cpu: the instance's cgroup has a quota of limits.cpu (checked from the host, not by timing)`, { skip }, async () => {
      const inst = await limitsInstance();
      assert.equal(await cpuShare(inst.proc.child.pid!), 1.5);
    });
  }
}

/** The CPU share of the cgroup process `pid` is in, from the host (cgroup v1 `cpu`, or v2 `cpu.max`). */
async function cpuShare(pid: number): Promise<number | undefined> {
  const lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).trim().split('\n');
  const v1 = lines.map((l) => l.split(':')).find(([, c]) => c!.split(',').includes('cpu'));
  if (v1) {
    const dir = join('/sys/fs/cgroup', v1[1]!, v1[2]!);
    const quota = Number(await readFile(join(dir, 'cpu.cfs_quota_us'), 'utf8'));
    const period = Number(await readFile(join(dir, 'cpu.cfs_period_us'), 'utf8'));
    return quota > 0 ? quota / period : undefined;
  }
  const v2 = lines.find((l) => l.startsWith('0::'));
  if (!v2) return undefined;
  const [quota, period] = (await readFile(join('/sys/fs/cgroup', v2.slice(3), 'cpu.max'), 'utf8')).trim().split(' ');
  return quota === 'max' ? undefined : Number(quota) / Number(period);
}
