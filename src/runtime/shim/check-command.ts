/**
 * The check of an `exec` or `http` function (FERRY_CHECK_PROGRAM, as the sandbox sees it;
 * FERRY_CHECK_NAME, as ferry.json names it): the program must be a file the instance can execute.
 * Runs inside the sandbox, so it sees exactly the binds an instance gets; imports only Node
 * built-ins and the report writer.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { writeCheckReport } from './check-report.js';

const program = process.env.FERRY_CHECK_PROGRAM ?? '';
const name = process.env.FERRY_CHECK_NAME || program;

function problem(): string | undefined {
  let isFile: boolean;
  try {
    isFile = statSync(program).isFile();
  } catch {
    return `command '${name}' does not exist in the sandbox (not in the package, nor a path bound into it)`;
  }
  if (!isFile) return `command '${name}' is not a file`;
  try {
    accessSync(program, constants.X_OK);
  } catch {
    return `command '${name}' is not executable (no x bit)`;
  }
  return undefined;
}

const message = problem();
writeCheckReport(message ? { ok: false, message, file: program } : { ok: true });
process.exit(0);
