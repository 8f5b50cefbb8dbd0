import type { NetworkPolicy, RuntimeName } from '../core/index.js';
import type { SourceRelay } from './sources.js';

/** Where the build sees its own things, inside the sandbox. */
export interface BuildView {
  /** The writable copy of the package (the working directory). */
  pkg: string;
  /** A writable home of the build's own: caches and configuration live there, none of the host's. */
  home: string;
}

/** One dependency install: what runs in the build sandbox, and what of its work is kept. */
export interface BuildPlan {
  /** `npm ci`, `npm install`, `pip install`: said in the build log. */
  title: string;
  runtime: RuntimeName;
  /** What the result depends on besides the tool: the files that name the dependencies, the sources, the tool's version. */
  key: string[];
  /** Folder of the package the install writes into; copied into the version (and the cache). */
  output: string;
  network: NetworkPolicy;
  /** Sources the build reaches through the server's relay (`--build-allow-private-sources`). */
  relays: SourceRelay[];
  /** Host paths the tool needs visible read-only (interpreter, npm, a wheel folder). */
  hostPaths: string[];
  argv(view: BuildView): string[];
  env(view: BuildView): Record<string, string>;
  /** A hint for a failed build from its log (e.g. which part of the toolchain is missing). */
  explain?(log: string): string | undefined;
}

/** Either a plan, or why the package needs no build (said in the build log). */
export type PlanResult = { plan: BuildPlan } | { skip: string };
