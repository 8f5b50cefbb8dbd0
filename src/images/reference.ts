/**
 * Image references: `host[:port]/repo[/more][:tag][@sha256:<hex>]`. The registry host is always
 * named: Ferry has no default registry (a server on a closed network has no Docker Hub), so a bare
 * `busybox` is refused rather than guessed.
 */
import { FerryError } from '../errors/index.js';

/** A parsed reference. Pulled by `digest` when it has one, else by `tag`. */
export interface ImageReference {
  /** `host[:port]` as written (IPv6 in brackets), lower-cased. */
  registry: string;
  /** The repository path, e.g. `library/busybox`. */
  repository: string;
  /** The tag: `latest` when neither a tag nor a digest is written. */
  tag: string | undefined;
  /** `sha256:<hex>`, when written. */
  digest: string | undefined;
}

// The distribution spec's grammar (docker/distribution reference/regexp.go), anchored.
const hostPart = String.raw`(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`;
const hostRe = new RegExp(String.raw`^(?:${hostPart}(?:\.${hostPart})*|\[[0-9a-fA-F:.]+\])(?::([0-9]{1,5}))?$`);
const pathComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagRe = /^[\w][\w.-]{0,127}$/;
const digestRe = /^sha256:[0-9a-f]{64}$/;

function invalid(ref: string, why: string): FerryError {
  return new FerryError('image-invalid', `image reference ${JSON.stringify(ref.slice(0, 300))}: ${why}`);
}

/** Parses `text`; throws `image-invalid` saying what is wrong. */
export function parseImageReference(text: string): ImageReference {
  if (typeof text !== 'string' || text.length === 0) throw invalid(String(text), 'is empty');
  if (text.length > 512) throw invalid(text, 'is longer than 512 characters');
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestRe.test(digest)) throw invalid(text, `the digest must be sha256: and 64 lower-case hex digits, not ${JSON.stringify(digest.slice(0, 80))}`);
  }
  const slash = rest.indexOf('/');
  const first = slash < 0 ? rest : rest.slice(0, slash);
  // Docker's rule for "is the first part a registry": a dot, a port, or localhost.
  const looksLikeHost = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['));
  if (!looksLikeHost) {
    throw invalid(text, `name the registry, e.g. registry.example.com/${rest || 'repo'}: Ferry has no default registry`);
  }
  const m = hostRe.exec(first);
  if (!m || (m[1] !== undefined && (Number(m[1]) < 1 || Number(m[1]) > 65_535))) throw invalid(text, `${JSON.stringify(first)} is not a host[:port]`);
  let path = rest.slice(slash + 1);
  let tag: string | undefined;
  const colon = path.lastIndexOf(':');
  if (colon >= 0) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!tagRe.test(tag)) throw invalid(text, `the tag ${JSON.stringify(tag.slice(0, 80))} is not [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
  }
  if (path.length === 0) throw invalid(text, 'has no repository after the registry');
  if (path.length > 255) throw invalid(text, 'the repository is longer than 255 characters');
  for (const part of path.split('/')) {
    if (!pathComponent.test(part)) throw invalid(text, `the repository part ${JSON.stringify(part.slice(0, 80))} must be lower-case letters and digits, separated by . _ __ or -`);
  }
  return { registry: first.toLowerCase(), repository: path, tag: tag ?? (digest ? undefined : 'latest'), digest };
}

/** The reference written in full: `host/repo:tag@digest` (the parts it has). */
export function formatImageReference(r: ImageReference): string {
  return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}
