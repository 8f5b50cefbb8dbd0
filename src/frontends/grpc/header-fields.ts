/** One header field as the `.proto` files carry it (`ferry.v1.Header`); a name may repeat. */
export interface HeaderField {
  name: string;
  value: string;
}

/** A flat [name, value, ...] list as header fields. */
export function headerFields(flat: string[]): HeaderField[] {
  const out: HeaderField[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push({ name: flat[i]!, value: flat[i + 1]! });
  return out;
}
