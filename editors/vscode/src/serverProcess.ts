/**
 * The server process as the extension sees it: spawned here (not by the language client)
 * so that when it dies the user is told how (exit code or signal) and what it last said
 * on stderr, instead of the client's "write EPIPE". Also the budget that bounds how often
 * a crashing server is started again.
 */

import { ChildProcess, spawn } from 'child_process';
import { Writable } from 'stream';

/** The last lines a process wrote, bounded in lines and characters. */
export class OutputTail {
  private text = '';

  constructor(
    private readonly maxLines = 20,
    private readonly maxChars = 4000,
  ) {}

  push(chunk: string): void {
    this.text = (this.text + chunk).slice(-this.maxChars * 2);
  }

  /** The last non-empty lines, newest last, each cut to a readable length. */
  lines(count = this.maxLines): string[] {
    const lines = this.text
      .split(/\r?\n/)
      .map((line) => line.trimEnd())
      .filter((line) => line !== '');
    const kept = lines.slice(-Math.min(count, this.maxLines));
    return kept.map((line) => (line.length > 300 ? `${line.slice(0, 297)}...` : line));
  }
}

export interface ServerExit {
  readonly code: number | null;
  readonly signal: string | null;
  /** Set when the process could not be spawned at all (ENOENT, EACCES). */
  readonly spawnError?: string;
}

/** "exited with code 3", "was killed by SIGKILL", "could not be started (ENOENT)". */
export function describeExit(exit: ServerExit): string {
  if (exit.spawnError !== undefined) return `could not be started (${exit.spawnError})`;
  if (exit.signal !== null) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.code ?? 'unknown'}`;
}

export interface ServerProcess {
  readonly child: ChildProcess;
  /**
   * What the client writes to: the server's stdin, except that writes to a server that is
   * gone are dropped instead of failing with EPIPE (the exit itself is what gets reported).
   */
  readonly input: Writable;
  readonly tail: OutputTail;
  /** Resolves once the process is gone. */
  readonly exit: Promise<ServerExit>;
  /** The exit, once it happened. */
  exited(): ServerExit | undefined;
}

/** Spawn the server with piped stdio; stderr is kept in a tail (the client logs it too). */
export function launchServer(command: string, args: readonly string[], cwd: string): ServerProcess {
  const child = spawn(command, [...args], { cwd, stdio: 'pipe', env: process.env });
  const tail = new OutputTail();
  let result: ServerExit | undefined;
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => tail.push(chunk));
  const exit = new Promise<ServerExit>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      result ??= { code: null, signal: null, spawnError: error.code ?? error.message };
      resolve(result);
    });
    child.once('close', (code, signal) => {
      result ??= { code, signal };
      resolve(result);
    });
  });
  return { child, tail, exit, exited: () => result, input: guardedInput(child, () => result !== undefined) };
}

function guardedInput(child: ChildProcess, gone: () => boolean): Writable {
  const stdin = child.stdin;
  // Without a listener a write to a dead process is an uncaught EPIPE in the extension host.
  stdin?.on('error', () => undefined);
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (stdin === null || stdin.destroyed || gone()) {
        callback();
        return;
      }
      stdin.write(chunk, () => callback());
    },
  });
}

/**
 * At most `max` automatic restarts within `windowMs`; past that the server stays down
 * until the user acts (a command, a settings change, "Restart Server").
 */
export class RestartBudget {
  private readonly restarts: number[] = [];

  constructor(
    readonly max = 3,
    readonly windowMs = 180_000,
  ) {}

  /** Take one restart if the budget allows it at `now` (ms). */
  take(now: number): boolean {
    while (this.restarts.length > 0 && now - this.restarts[0] > this.windowMs) this.restarts.shift();
    if (this.restarts.length >= this.max) return false;
    this.restarts.push(now);
    return true;
  }

  reset(): void {
    this.restarts.length = 0;
  }
}
