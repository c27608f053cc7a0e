/**
 * Which process to start as the Aurelis language server.
 *
 *   aurelis.pythonPath set   → <pythonPath> -m aurelis <aurelis.server.args>   (default args: serve)
 *   otherwise                → <aurelis.server.command> <aurelis.server.args>  (default: aurelis serve)
 *
 * `~`, `${userHome}` and `${workspaceFolder}` are expanded in the command and python path,
 * the way users write them for other VS Code Python tooling.
 */

export const DEFAULT_COMMAND = 'aurelis';
export const DEFAULT_ARGS: readonly string[] = Object.freeze(['serve']);

export interface ServerSettings {
  command?: unknown;
  args?: unknown;
  pythonPath?: unknown;
}

export interface ExpansionContext {
  homeDir: string;
  workspaceFolder?: string;
}

export interface ServerExecutable {
  command: string;
  args: string[];
  /** Human-readable command line, for messages and the output channel. */
  display: string;
}

/** Expand `~`, `${userHome}` and `${workspaceFolder}` in a path-like setting. */
export function expandPath(value: string, ctx: ExpansionContext): string {
  let out = value.replace(/\$\{userHome\}/g, ctx.homeDir);
  if (ctx.workspaceFolder !== undefined) {
    out = out.replace(/\$\{workspaceFolder\}/g, ctx.workspaceFolder);
  }
  if (out === '~') return ctx.homeDir;
  if (out.startsWith('~/') || out.startsWith('~\\')) return ctx.homeDir + out.slice(1);
  return out;
}

function quoteForDisplay(part: string): string {
  return /^[\w@%+=:,./\\-]+$/.test(part) ? part : `"${part.replace(/(["\\])/g, '\\$1')}"`;
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function stringArray(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string')
    ? [...(value as string[])]
    : undefined;
}

/** Resolve the settings into the executable to spawn (stdio transport). */
export function resolveServerExecutable(
  settings: ServerSettings,
  ctx: ExpansionContext,
): ServerExecutable {
  const args = stringArray(settings.args) ?? [...DEFAULT_ARGS];
  const pythonPath = nonEmptyString(settings.pythonPath);
  let command: string;
  let fullArgs: string[];
  if (pythonPath !== undefined) {
    command = expandPath(pythonPath, ctx);
    fullArgs = ['-m', 'aurelis', ...args];
  } else {
    command = expandPath(nonEmptyString(settings.command) ?? DEFAULT_COMMAND, ctx);
    fullArgs = args;
  }
  return {
    command,
    args: fullArgs,
    display: [command, ...fullArgs].map(quoteForDisplay).join(' '),
  };
}

/** The message shown when the server process cannot be started. */
export function startFailureMessage(exe: ServerExecutable, error: unknown): string {
  const detail =
    error instanceof Error ? error.message : typeof error === 'string' ? error : String(error);
  const notFound = /ENOENT|not found|no such file/i.test(detail);
  const hint = notFound
    ? `\`${exe.command}\` was not found. Install the server (\`pip install aurelis\`) and either ` +
      'put `aurelis` on PATH or set `aurelis.pythonPath` to the Python interpreter it is installed in.'
    : 'See the Aurelis output for the server log, and check `aurelis.server.command`, ' +
      '`aurelis.server.args` and `aurelis.pythonPath`.';
  return `Aurelis: could not start the language server (${exe.display}): ${detail}. ${hint}`;
}

/** Setting keys (under `aurelis.`) whose change needs a server restart. */
export const RESTART_KEYS: readonly string[] = Object.freeze([
  'server.command',
  'server.args',
  'pythonPath',
]);
