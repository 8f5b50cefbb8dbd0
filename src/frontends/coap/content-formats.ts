/**
 * CoAP's Content-Format numbers (the IANA "CoAP Content-Formats" registry) for the media types a
 * function is likely to send or take. A request's Content-Format becomes its `content-type`; a
 * response's `content-type` becomes a Content-Format when the media type has a number here, and
 * no option otherwise. The table in docs/protocols.md lists the same.
 */
const formats: ReadonlyArray<readonly [number, string]> = [
  [0, 'text/plain; charset=utf-8'],
  [40, 'application/link-format'],
  [41, 'application/xml'],
  [42, 'application/octet-stream'],
  [47, 'application/exi'],
  [50, 'application/json'],
  [51, 'application/json-patch+json'],
  [52, 'application/merge-patch+json'],
  [60, 'application/cbor'],
  [61, 'application/cwt'],
  [63, 'application/cbor-seq'],
  [110, 'application/senml+json'],
  [111, 'application/sensml+json'],
  [112, 'application/senml+cbor'],
  [113, 'application/sensml+cbor'],
  [310, 'application/senml+xml'],
  [311, 'application/sensml+xml'],
  [432, 'application/td+json'],
];

const typeOfNumber = new Map<number, string>(formats);
const numberOfType = new Map<string, number>(formats.map(([n, t]) => [t.split(';')[0]!, n]));

/** The media type of a Content-Format number; undefined when Ferry does not know it. */
export function mediaTypeOf(format: number): string | undefined {
  return typeOfNumber.get(format);
}

/**
 * The Content-Format of a `content-type` value; undefined when it has none. `text/plain` counts
 * only in UTF-8 (or with no charset), since number 0 says UTF-8.
 */
export function contentFormatOf(contentType: string | undefined): number | undefined {
  if (!contentType) return undefined;
  const [type, ...params] = contentType.toLowerCase().split(';').map((s) => s.trim());
  if (type === 'text/plain') {
    const charset = params.find((p) => p.startsWith('charset='))?.slice(8).replace(/"/g, '');
    return charset === undefined || charset === 'utf-8' ? 0 : undefined;
  }
  return numberOfType.get(type!);
}
