import { readFileSync } from 'node:fs';

/** Ferry's version, from package.json. */
export const ferryVersion: string = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
