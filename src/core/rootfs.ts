/**
 * What an instance needs from the root file system besides the system's directories, as the
 * runtime that plans it declares it. A driver that shares the host's files binds where each is on
 * the host (sandbox/rootfs/ resolves them); a driver with a root of its own provides each there.
 */
export type RootfsNeed =
  /** The Node.js that runs Ferry: Ferry's shims and relay run on it, and `command: ["node", ...]`. */
  | { kind: 'node' }
  /** The Python 3 interpreter instances run with, with its standard library. */
  | { kind: 'python3' }
  /** Ferry's runtime files: the shims, the relay, the deploy-time check. */
  | { kind: 'ferry-runtime' }
  /** A program a version's `command` names by a bare name, found on the host's PATH. */
  | { kind: 'program'; name: string }
  /** The host's language libraries of `language`, for a version that asked for them (`hostLibraries`). */
  | { kind: 'host-libraries'; language: HostLibraryLanguage }
  /**
   * A host file or directory a dependency build's tools need (the C toolchain's links, npm, a
   * wheel folder the operator named). Builds only: instances never name host paths.
   */
  | { kind: 'host-path'; path: string };

export type HostLibraryLanguage = 'node' | 'python';

/** The needs a runtime starts an executable from: an interpreter, or a program on PATH. */
export type ExecutableNeed = Extract<RootfsNeed, { kind: 'node' | 'python3' | 'program' }>;

/**
 * Where what a runtime needs appears inside one sandbox (a `SandboxView`'s `rootfs`): runtimes
 * write no host path of their own into a launch plan, they ask here.
 */
export interface RootfsView {
  /**
   * argv that runs the executable of `need` with `args` inside. Throws `instance-start-failed`
   * when the sandbox has no such executable (a program not on the host's PATH).
   */
  command(need: ExecutableNeed, args: string[]): string[];
  /** Where a file of Ferry's runtime (its host path, under the runtime directory) appears inside. */
  runtimeFile(hostPath: string): string;
  /** The directories of the host's `language` libraries inside ([] where there are none). */
  libraries(language: HostLibraryLanguage): string[];
}
