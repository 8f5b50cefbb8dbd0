export { codes, type ErrorCode } from './codes.js';
export { FerryError, isFerryError, type ProblemExtras } from './ferry-error.js';
export { toProblem, sendProblem, type Problem } from './problem.js';
