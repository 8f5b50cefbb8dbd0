/** Functions of the seed-003 contract for its tests: the README's example and one using every kind of input. */
import { busyboxLayer, hostFilesLayer, type TestImage } from './images.js';

/** The README's example function, verbatim. */
export const README_EXAMPLE = `import os
import sys
import json

def main():
    # Get input from arguments
    input_data = json.loads(sys.argv[1])
    
    # Process input
    result = {"message": "Hello " + input_data["name"]}
    
    # Return JSON output
    print(json.dumps(result))

if __name__ == "__main__":
    main()
`;

/** A function of the contract using all three kinds of input (urllib: the seed's functions use plain HTTP). */
export const ALL_INPUTS = `import os, sys, json, urllib.request, urllib.error
data = json.loads(sys.argv[1])
out = {"direct": data["direct_inputs"], "args": len(sys.argv)}
for k, ref in data.get("object_inputs", {}).items():
    try:
        out[k] = urllib.request.urlopen(os.environ["API_BASE_URL"] + "/" + ref).read().decode()
    except urllib.error.HTTPError as e:
        out[k] = e.code
for s in data.get("secrets", []):
    out[s] = os.environ.get(s.upper())
if data["direct_inputs"].get("fail"):
    out = {"error": "asked to fail"}
print(json.dumps(out))
`;

/** An image that runs `main` with the host's Python 3.11 as its Entrypoint, as the seed's images do. */
export function pythonFunctionImage(main: string): TestImage {
  return {
    layers: [busyboxLayer(), hostFilesLayer(['/usr/bin/python3.11', '/usr/lib/python3.11']), { items: [{ name: 'app/main.py', body: main }] }],
    config: { Entrypoint: ['/usr/bin/python3.11', '/app/main.py'], Env: ['PATH=/usr/bin:/bin'] },
  };
}
