/**
 * Container images as function versions. An image version's package is the image's root file
 * system, flattened from its layers and stored like any package (content-addressed, read-only);
 * what the image's config says about running it travels with the version in its manifest's
 * `image`, filled in by the server when the image is read.
 */

/** The run settings of an OCI image config (`config` in the config blob), defaults applied. */
export interface ImageRunConfig {
  /** `Entrypoint`; [] when absent. */
  entrypoint: string[];
  /** `Cmd`; [] when absent. */
  cmd: string[];
  /** `Env`, as `NAME=value` strings in the image's order. */
  env: string[];
  /** `WorkingDir`; '' when absent (the root). */
  workingDir: string;
  /** `User`: '' (root), `uid[:gid]` or `name[:group]` (looked up in the image's /etc/passwd, /etc/group). */
  user: string;
  /** `ExposedPorts` keys, e.g. `8080/tcp`, sorted. */
  exposedPorts: string[];
}

/**
 * `image` in a manifest. A user writes `ref` (a registry reference to pull; absent for an uploaded
 * archive) and the overrides; the server adds `source`, `digest` and `config` when it has read the
 * image (a user may not: they are not in the JSON schema).
 */
export interface ManifestImage {
  /** `host[:port]/repo[:tag][@sha256:...]`. */
  ref?: string;
  /** Replace the image's `Entrypoint` / `Cmd` / `WorkingDir` / `User`. */
  entrypoint?: string[];
  cmd?: string[];
  workdir?: string;
  user?: string;
  /** Server-filled: what the image came from (`ref` as resolved, or `archive`). */
  source?: string;
  /** Server-filled: `sha256:<hex>` of the image manifest (registry, OCI layout) or config (docker save). */
  digest?: string;
  /** Server-filled: the image config's run settings. */
  config?: ImageRunConfig;
}

const argvSchema = { type: 'array', maxItems: 256, items: { type: 'string', maxLength: 4096 } } as const;

/** JSON Schema of the user-written part of a manifest's `image`. */
export const manifestImageSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ref: { type: 'string', minLength: 1, maxLength: 512 },
    entrypoint: argvSchema,
    cmd: argvSchema,
    workdir: { type: 'string', pattern: '^/', maxLength: 4096 },
    user: { type: 'string', minLength: 1, maxLength: 256 },
  },
} as const;
