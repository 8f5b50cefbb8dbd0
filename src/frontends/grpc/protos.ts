import { fileURLToPath } from 'node:url';
import { loadSync } from '@grpc/proto-loader';
import type { ServiceDefinition } from '@grpc/grpc-js';

/** The `.proto` files, shipped in the package's top-level `proto/` folder and read from there. */
export const protoDir: string = fileURLToPath(new URL('../../../../proto/', import.meta.url));

/** The two services the front end serves, from their `.proto` files. */
export interface GrpcServices {
  functions: ServiceDefinition;
  tinyFaaS: ServiceDefinition;
}

/** Reads the `.proto` files (at start, only when the front end is on). */
export function loadServices(): GrpcServices {
  // keepCase: tinyFaaS's field is `functionIdentifier`; defaults: unset fields read "" and 0.
  const def = loadSync(['ferry/v1/functions.proto', 'tinyfaas/tinyfaas.proto'], { includeDirs: [protoDir], keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  return {
    functions: def['ferry.v1.Functions'] as ServiceDefinition,
    tinyFaaS: def['openfogstack.tinyfaas.tinyfaas.TinyFaaS'] as ServiceDefinition,
  };
}
