/**
 * Whether a header name as the client sent it is `lower` (an all lower-case name), ignoring ASCII
 * case. The call path compares every request header against a few names; lowercasing each to
 * compare allocated a string per header per call, and most names differ in their first letter.
 */
export function isHeaderName(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < name.length; i++) {
    let c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) c |= 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}
