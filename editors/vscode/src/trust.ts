/**
 * How VS Code's Workspace Trust maps to Aurelis trust (see docs/security.md and
 * shared TRUST_CONTRACT):
 *
 * - The server is told `workspaceTrusted` in `initializationOptions`. In a workspace VS Code
 *   does not trust (restricted mode) it honours no sensitive setting from project files,
 *   whatever its own trust store says; when the user grants trust the server is restarted.
 * - In a trusted workspace "Aurelis: Trust Project Settings" sends `aurelis.trustProject`
 *   (the same as `aurelis trust <folder>` on the command line) and "Aurelis: Untrust Project
 *   Settings" sends `aurelis.untrustProject`.
 * - Settings that choose an executable, a path, an endpoint or where code is sent are
 *   machine-scoped (a repository's `.vscode/settings.json` cannot set them) and listed in
 *   `capabilities.untrustedWorkspaces.restrictedConfigurations`.
 */

/** Settings (under `aurelis.`) a workspace must never set: they pick what runs or where data goes. */
export const MACHINE_SCOPED_SETTINGS: readonly string[] = Object.freeze([
  'server.command',
  'server.args',
  'pythonPath',
  'endpoint',
  'provider',
  'models.routing',
  'context.acrossRoots',
]);

/** What restricted mode ignores from workspace settings (the same list). */
export const RESTRICTED_SETTINGS: readonly string[] = MACHINE_SCOPED_SETTINGS;

export interface TrustCommandSpec {
  readonly clientCommand: string;
  readonly serverCommand: string;
  readonly title: string;
  /** Whether the command needs a workspace VS Code trusts. */
  readonly needsTrustedWorkspace: boolean;
}

export const TRUST_COMMANDS: readonly TrustCommandSpec[] = Object.freeze([
  Object.freeze({
    clientCommand: 'aurelis.client.trustProject',
    serverCommand: 'aurelis.trustProject',
    title: 'Trust Project Settings',
    needsTrustedWorkspace: true,
  }),
  Object.freeze({
    clientCommand: 'aurelis.client.untrustProject',
    serverCommand: 'aurelis.untrustProject',
    title: 'Untrust Project Settings',
    needsTrustedWorkspace: false,
  }),
]);

/** Shown when the trust command is run in restricted mode. */
export const RESTRICTED_MODE_MESSAGE =
  'Aurelis: this workspace is in restricted mode. Trust it in VS Code first ' +
  '(Workspaces: Manage Workspace Trust), then trust its Aurelis project settings.';

/** The `arguments` of the request: one folder, or none for every workspace folder. */
export function trustArguments(folderUri: string | undefined): unknown[] {
  return folderUri === undefined ? [] : [{ uri: folderUri }];
}

function pathList(result: unknown, keys: readonly string[]): string[] | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  for (const key of keys) {
    const value = (result as Record<string, unknown>)[key];
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  }
  return undefined;
}

/** The message for the server's answer (`{"trusted": [paths]}` / `{"untrusted": [paths]}`). */
export function trustResultMessage(spec: TrustCommandSpec, result: unknown): string {
  const trusting = spec.serverCommand === 'aurelis.trustProject';
  const paths = pathList(result, trusting ? ['trusted'] : ['untrusted', 'trusted']);
  if (paths === undefined || paths.length === 0) {
    return trusting
      ? 'Aurelis: no project settings were trusted (no project found).'
      : 'Aurelis: no trusted project settings to remove.';
  }
  const list = paths.join(', ');
  return trusting
    ? `Aurelis: trusted the project settings of ${list}.`
    : `Aurelis: the project settings of ${list} are no longer trusted.`;
}

/** The message for a failed request (e.g. the server's restricted-mode refusal). */
export function trustErrorMessage(spec: TrustCommandSpec, error: unknown): string {
  const detail =
    error instanceof Error ? error.message : typeof error === 'string' ? error : String(error);
  return `Aurelis: ${spec.title} failed: ${detail}`;
}
