/** Reading a password without putting it on the command line (where `ps` and shell history see it). */
import { createInterface } from 'node:readline';
import { usageError } from './errors.js';

/**
 * `--password-stdin`: the whole of standard input (one trailing newline dropped); else
 * FERRY_PASSWORD; else a prompt that does not echo, when standard input is a terminal.
 */
export async function readPassword(opts: { stdin?: boolean }, env: NodeJS.ProcessEnv, prompt = 'Password: '): Promise<string> {
  if (opts.stdin) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
    const pw = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
    if (!pw) throw usageError('--password-stdin: standard input was empty');
    return pw;
  }
  if (env.FERRY_PASSWORD) return env.FERRY_PASSWORD;
  if (!process.stdin.isTTY) throw usageError('no password: use --password-stdin or FERRY_PASSWORD (standard input is not a terminal)');
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const write = (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput;
    // Echo the prompt, not what is typed.
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
      if (s.includes(prompt)) write.call(rl, prompt);
    };
    rl.question(prompt, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}
