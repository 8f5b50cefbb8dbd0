/**
 * Where a version's installed dependencies live inside its package, shared by the build step
 * (which installs them there) and the runtimes (which look for them there).
 */

/** Node's own resolution finds `node_modules/` in the package root: the handler needs nothing more. */
export const NODE_MODULES_DIR = 'node_modules';

/** The folder `requirements.txt` is installed into; the python runtime puts it on `sys.path`. */
export const PYTHON_SITE_DIR = '.ferry/site';
