/**
 * Which process to start as the Aurelis language server, and where.
 *
 *   aurelis.pythonPath set   → <pythonPath> -P -m aurelis <aurelis.server.args>  (default args: serve)
 *   otherwise                → <aurelis.server.command> <aurelis.server.args>    (default: aurelis serve)
 *
 * `-P` keeps the working directory off `sys.path`: without it a workspace file named like a
 * stdlib module (`secrets.py`), or a workspace `aurelis/` package, would be imported before
 * any of our code runs. A configured command that is itself a Python interpreter gets `-P`
 * too. The process also runs in a directory the workspace does not control
 * (`safeServerCwd`), never in the workspace folder.
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
  /** True when started as `<pythonPath> -P -m aurelis`. */
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

/** True for `python`, `python3`, `python3.12`, `/venv/bin/python`, `python.exe`, ... */
export function isPythonInterpreter(command: string): boolean {
  const base = command.split(/[\\/]/).pop() ?? command;
  return /^python(\d+(\.\d+)?)?(\.exe)?$/i.test(base);
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
    fullArgs = ['-P', '-m', 'aurelis', ...args];
  } else {
    command = expandPath(nonEmptyString(settings.command) ?? DEFAULT_COMMAND, ctx);
    fullArgs = isPythonInterpreter(command) && !args.includes('-P') ? ['-P', ...args] : args;
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

/**
 * How to install the server. There is no `aurelis` package on PyPI: it is installed from a
 * checkout of the Aurelis repository or from a wheel built from one.
 */
export const INSTALL_HINT =
  'Install it from a checkout of the Aurelis repository (`pipx install /path/to/aurelis`, or ' +
  '`pip install "/path/to/aurelis[local]"` in a virtual environment) or from a wheel built ' +
  'there (`pip install dist/aurelis-*.whl`)';

/** Where `findExecutable` looked, for the not-found message: PATH's directories, or the file. */
export function searchedPlaces(command: string, lookup: Pick<PathLookup, 'path' | 'platform'>): string {
  const win = lookup.platform === 'win32';
  if (command.includes('/') || (win && command.includes('\\'))) return `at ${command}`;
  const dirs = (lookup.path ?? '').split(win ? ';' : ':').filter((d) => d !== '');
  if (dirs.length === 0) return 'on PATH (PATH is empty)';
  const shown = dirs.slice(0, 8).join(win ? ';' : ':');
  return `on PATH (${shown}${dirs.length > 8 ? `, and ${dirs.length - 8} more` : ''})`;
}

/** Setting help for remote-style windows, where machine settings live apart. */
const REMOTE_HINT =
  'In a remote window (code-server, SSH, WSL, Codespaces) put it in the Remote settings ' +
  '("Preferences: Open Remote Settings (JSON)"): VS Code ignores machine-scoped settings ' +
  'in the local User settings there.';

/** The message shown when the server executable does not exist; `searched` says where it looked. */
export function notFoundMessage(exe: ServerExecutable, searched: string): string {
  if (exe.viaPython) {
    return (
      `Aurelis: the Python interpreter \`${exe.command}\` (aurelis.pythonPath) was not found ` +
      `${searched}. Set \`aurelis.pythonPath\` to an interpreter that has Aurelis installed, or ` +
      `clear it to use \`aurelis.server.command\`. ${REMOTE_HINT}`
    );
  }
  return (
    `Aurelis: the language server \`${exe.command}\` was not found ${searched}. ${INSTALL_HINT}, ` +
    'then put `aurelis` on PATH, set `aurelis.server.command` to the full path of the ' +
    '`aurelis` script, or set `aurelis.pythonPath` to the Python interpreter it is installed ' +
    `in. ${REMOTE_HINT}`
  );
}

/** The message shown when the server could not be connected to (no exit seen). */
export function startFailureMessage(exe: ServerExecutable, error: unknown): string {
  const detail =
    error instanceof Error ? error.message : typeof error === 'string' ? error : String(error);
  return `Aurelis: could not start the language server (${exe.display}): ${detail}. ${serverHint(exe)}`;
}

function serverHint(exe: ServerExecutable): string {
  return exe.viaPython
    ? 'Check that Aurelis is installed in that interpreter ' +
        `(\`${exe.command} -m pip install "/path/to/aurelis[local]"\` from a checkout of the ` +
        'Aurelis repository); the Aurelis output has the server log.'
    : 'The Aurelis output has the server log; check `aurelis.server.command`, ' +
        '`aurelis.server.args` and `aurelis.pythonPath`.';
}

/**
 * The message for a server that died: how it ended (`howItEnded`, e.g. "exited with code 3"),
 * whether that was while starting, and the last lines of its stderr.
 */
export function exitMessage(
  exe: ServerExecutable,
  howItEnded: string,
  atStart: boolean,
  stderrTail: readonly string[],
): string {
  const when = atStart ? 'as it started' : 'and was not restarted (it kept stopping)';
  const said =
    stderrTail.length === 0 ? ' It wrote nothing on stderr.' : ` Its stderr ended with: «${stderrTail.slice(-3).join(' | ')}».`;
  return `Aurelis: the language server (${exe.display}) ${howItEnded} ${when}.${said} ${serverHint(exe)}`;
}

/** Setting keys (under `aurelis.`) whose change needs a server restart. */
export const RESTART_KEYS: readonly string[] = Object.freeze([
  'server.command',
  'server.args',
  'pythonPath',
]);

/**
 * The directory the server runs in: one the workspace does not control. The extension's own
 * directory, unless a workspace folder contains it (someone developing the extension in
 * VS Code); then the temp directory.
 */
export function safeServerCwd(
  extensionDir: string | undefined,
  workspaceFolders: readonly string[],
  tmpDir: string,
): string {
  if (extensionDir === undefined || extensionDir === '') return tmpDir;
  return workspaceFolders.some((folder) => isInside(extensionDir, folder)) ? tmpDir : extensionDir;
}

function normalizeDir(path: string): string {
  return path.replace(/[\\/]+$/, '').replace(/\\/g, '/');
}

/** True when `path` is `folder` or below it (string comparison of normalized paths). */
export function isInside(path: string, folder: string): boolean {
  const p = normalizeDir(path);
  const f = normalizeDir(folder);
  return f !== '' && (p === f || p.startsWith(`${f}/`));
}

/**
 * Why the server must not be started in a workspace VS Code does not trust, or undefined.
 * The executable itself must not come from the workspace: a repository can ship a
 * `.venv/bin/python` that the user's `${workspaceFolder}/.venv/bin/python` would run.
 */
export function untrustedLaunchRefusal(
  exe: ServerExecutable,
  settings: ServerSettings,
  workspaceFolders: readonly string[],
): string | undefined {
  const raw = exe.viaPython ? settings.pythonPath : settings.command;
  const fromWorkspace =
    (typeof raw === 'string' && raw.includes('${workspaceFolder}')) ||
    workspaceFolders.some((folder) => isInside(exe.command, folder));
  if (!fromWorkspace) return undefined;
  return (
    `Aurelis: not starting \`${exe.command}\`: it is inside the workspace, which VS Code does ` +
    'not trust. Trust the workspace (Workspaces: Manage Workspace Trust), or point ' +
    '`aurelis.pythonPath` / `aurelis.server.command` at an installation outside it.'
  );
}
