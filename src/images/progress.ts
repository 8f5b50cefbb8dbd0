/** `sha256:ab12cd34ef56`: enough of a digest to tell layers apart in a log line. */
export function shortDigest(digest: string): string {
  return digest.slice(0, 'sha256:'.length + 12);
}

