/**
 * The server's pull settings, read once at start: a credentials file that is not owner-only, or
 * a CA file that holds no certificate, stops the start rather than failing every later pull.
 */
import { readFileSync } from 'node:fs';
import type { ServerOptions } from '../config/index.js';
import { AddressPolicy } from '../util/address-policy.js';
import type { ImagePullerOptions } from './pull.js';
import { RegistryCredentials } from './registry-credentials.js';

/** What `ImagePuller` needs from the settings, besides the blob cache. */
export type RegistrySettings = Pick<ImagePullerOptions, 'policy' | 'credentials' | 'extraCa' | 'insecure' | 'maxBytes'>;

/** Reads `--registry-auth-file` and `--registry-ca`; throws a one-line Error when either is unusable. */
export function loadRegistrySettings(opts: Pick<ServerOptions, 'registryAllow' | 'registryAuthFile' | 'registryCa' | 'insecureRegistry' | 'maxUploadBytes'>): RegistrySettings {
  const credentials = opts.registryAuthFile ? RegistryCredentials.load(opts.registryAuthFile) : RegistryCredentials.none();
  let extraCa: string | undefined;
  if (opts.registryCa) {
    try {
      extraCa = readFileSync(opts.registryCa, 'utf8');
    } catch (err) {
      throw new Error(`--registry-ca: cannot read ${opts.registryCa} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (!extraCa.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`--registry-ca: ${opts.registryCa} holds no PEM certificate`);
  }
  return {
    policy: new AddressPolicy(opts.registryAllow, '--registry-allow'),
    credentials,
    extraCa,
    insecure: opts.insecureRegistry,
    // A pulled image is bounded as an uploaded one is.
    maxBytes: opts.maxUploadBytes,
  };
}
