/**
 * Header-name patterns, as `--redact-headers` takes them: a lower-case header name, `*-suffix`
 * (names ending so) or `prefix-*` (names starting so).
 */
const syntax = /^(\*[!#$%&'+.^_`|~0-9a-z-]+|[!#$%&'+.^_`|~0-9a-z-]+\*?)$/;

/** Whether `pattern` is a header name, `*-suffix` or `prefix-*`, in lower case. */
export function isHeaderPattern(pattern: string): boolean {
  return syntax.test(pattern);
}
