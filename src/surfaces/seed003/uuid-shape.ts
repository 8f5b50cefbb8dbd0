/** 32 hex digits (an id or a hash) written in a UUID's shape, 8-4-4-4-12. */
export function uuidShape(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
