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
  /** True when started as `<pythonPath> -m aurelis`. */
  viaPython: boolean;
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
    viaPython: pythonPath !== undefined,
    display: [command, ...fullArgs].map(quoteForDisplay).join(' '),
  };
}

export interface PathLookup {
  /** The PATH variable. */
  path: string | undefined;
  /** Windows PATHEXT (e.g. ".EXE;.CMD"); ignored elsewhere. */
  pathext?: string;
  platform: string;
  /** Directory a relative command is resolved against (the server's cwd). */
  cwd: string;
  /** True when `file` exists and can be executed. */
  isExecutable: (file: string) => boolean;
}

function isAbsolute(p: string, platform: string): boolean {
  return platform === 'win32' ? /^([a-zA-Z]:)?[\\/]/.test(p) : p.startsWith('/');
}

/**
 * Find `command` the way spawning it would: a path (with a separator) as is, relative to
 * `cwd`; a bare name on PATH (with PATHEXT on Windows). Undefined when it is not there.
 * Checked before starting the client so a missing install gets one clear message instead
 * of the language client's generic "couldn't create connection to server".
 */
export function findExecutable(command: string, lookup: PathLookup): string | undefined {
  const win = lookup.platform === 'win32';
  const sep = win ? '\\' : '/';
  const exts = win
    ? ['', ...(lookup.pathext ?? '.COM;.EXE;.BAT;.CMD').split(';').filter((e) => e !== '')]
    : [''];
  const candidates = (base: string) => exts.map((e) => base + e);
  if (command.includes('/') || (win && command.includes('\\'))) {
    const full = isAbsolute(command, lookup.platform) ? command : lookup.cwd + sep + command;
    return candidates(full).find(lookup.isExecutable);
  }
  const dirs = (lookup.path ?? '').split(win ? ';' : ':').filter((d) => d !== '');
  for (const dir of dirs) {
    const found = candidates(dir.replace(/[\\/]+$/, '') + sep + command).find(lookup.isExecutable);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The message shown when the server executable does not exist. */
export function notFoundMessage(exe: ServerExecutable): string {
  if (exe.viaPython) {
    return (
      `Aurelis: the Python interpreter \`${exe.command}\` (aurelis.pythonPath) was not found. ` +
      'Set `aurelis.pythonPath` to an interpreter that has Aurelis installed, or clear it to use ' +
      '`aurelis.server.command`.'
    );
  }
  return (
    `Aurelis: the language server \`${exe.command}\` was not found. Install it ` +
    '(`pip install aurelis`) and put `aurelis` on PATH, or set `aurelis.pythonPath` to the ' +
    'Python interpreter it is installed in.'
  );
}

/** The message shown when the server process started but the connection failed. */
export function startFailureMessage(exe: ServerExecutable, error: unknown): string {
  const detail =
    error instanceof Error ? error.message : typeof error === 'string' ? error : String(error);
  const hint = exe.viaPython
    ? `Check that Aurelis is installed in that interpreter (\`${exe.command} -m pip install aurelis\`); ` +
      'the Aurelis output has the server log.'
    : 'The Aurelis output has the server log; check `aurelis.server.command`, ' +
      '`aurelis.server.args` and `aurelis.pythonPath`.';
  return `Aurelis: could not start the language server (${exe.display}): ${detail}. ${hint}`;
}

/** Setting keys (under `aurelis.`) whose change needs a server restart. */
export const RESTART_KEYS: readonly string[] = Object.freeze([
  'server.command',
  'server.args',
  'pythonPath',
]);
