export { hostRootfsView } from './host-view.js';
export { ferryRuntimeDir, hostPathsOf, hostPathsOfAll } from './host-paths.js';
export { pythonInterpreter, type PythonInterpreter } from './python-interpreter.js';
