/** `name[@ref]` to the one version a per-version command acts on. */
import { parseTarget } from '../args.js';
import { seg, type Client } from '../client.js';
import { ApiError, CliError } from '../errors.js';
import { listAliases } from './aliases.js';

/**
 * The version `name[@ref]` names: the latest without a ref, the version itself, or the version an
 * alias points at (an alias that splits traffic names no single version: an error).
 */
export async function resolveVersion(client: Client, target: string): Promise<{ name: string; version: string }> {
  const { name, ref } = parseTarget(target);
  if (ref === undefined || ref === 'latest') {
    const f = await client.json<{ latest?: string | null }>('GET', seg`/v1/functions/${name}`);
    if (!f.latest) throw new CliError(`${name} has no version yet (ferry deploy)`);
    return { name, version: f.latest };
  }
  try {
    await client.json('GET', seg`/v1/functions/${name}/versions/${ref}`);
    return { name, version: ref };
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== 'version-not-found') throw err;
  }
  const alias = (await listAliases(client, name)).aliases.find((a) => a.alias === ref);
  const t = alias?.target as { version?: unknown; weights?: Record<string, number> } | undefined;
  if (typeof t?.version === 'string') return { name, version: t.version };
  if (t?.weights) throw new CliError(`${name}@${ref} splits traffic over ${Object.keys(t.weights).join(', ')}: name one version`);
  throw new CliError(`${name} has no version or alias '${ref}'`, { code: 'version-not-found' });
}
