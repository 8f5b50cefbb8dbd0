/**
 * The modules a call runs, from the HTTP front end to the instance and back: `ferry server`
 * compiles these eagerly (`--no-lazy`) and the rest of the server lazily. A first call from the
 * pool would otherwise compile each of its functions as it runs them for the first time; what
 * only the start, the API or a setting runs costs memory compiled eagerly and saves the first
 * call nothing (docs/performance.md, "Idle cost").
 */
import '../frontends/http/index.js';
import '../pipeline/index.js';
import '../scheduler/index.js';
import '../runtime/registry.js';
import '../sandbox/bwrap/index.js';
import '../surfaces/fn/fn-surface.js';
import '../surfaces/host/host-surface.js';
import '../service/instance-call.js';
