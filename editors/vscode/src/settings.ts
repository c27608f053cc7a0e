/**
 * The `aurelis.*` settings the user actually set, as one plain JSON object. It is sent as
 * `initializationOptions`, answers the server's `workspace/configuration` pulls (section
 * "aurelis") and goes with every `workspace/didChangeConfiguration`.
 *
 * Only settings the user set travel: a default sent as if chosen would override the
 * server's environment (`AURELIS_PROVIDER`, ...) and config files, which decide whatever
 * the editor leaves unset. VS Code's `inspect()` tells a set value from a default.
 *
 * Shape (dotted setting keys become nested objects, as VS Code itself does), each part
 * present only when set:
 *   { server: {command, args}, pythonPath, trace: {server},
 *     inlineCompletion: {enabled, debounceMs}, endpoint, provider,
 *     models: {routing}, cache: {enabled}, context: {acrossRoots} }
 */

export const SECTION = 'aurelis';

/** Every declared setting under `aurelis.` and its default (mirrors package.json). */
export const SETTING_DEFAULTS: Readonly<Record<string, unknown>> = Object.freeze({
  'server.command': 'aurelis',
  'server.args': ['serve'],
  pythonPath: '',
  'trace.server': 'off',
  'inlineCompletion.enabled': true,
  'inlineCompletion.debounceMs': 150,
  endpoint: '',
  provider: 'auto',
  'models.routing': {},
  'cache.enabled': true,
  'context.acrossRoots': false,
});

/** The part of VS Code's `WorkspaceConfiguration.inspect()` result this module reads. */
export interface SettingInspection {
  readonly globalValue?: unknown;
  readonly workspaceValue?: unknown;
  readonly workspaceFolderValue?: unknown;
  readonly globalLanguageValue?: unknown;
  readonly workspaceLanguageValue?: unknown;
  readonly workspaceFolderLanguageValue?: unknown;
}

export type SettingGetter = (key: string) => unknown;
export type SettingInspector = (key: string) => SettingInspection | undefined;

/** True when some settings layer (user, remote/machine, workspace, folder) sets the key. */
export function isUserSet(inspection: SettingInspection | undefined): boolean {
  if (inspection === undefined) return false;
  return [
    inspection.globalValue,
    inspection.workspaceValue,
    inspection.workspaceFolderValue,
    inspection.globalLanguageValue,
    inspection.workspaceLanguageValue,
    inspection.workspaceFolderLanguageValue,
  ].some((value) => value !== undefined);
}

function setNested(out: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = out;
  for (const part of parts.slice(0, -1)) {
    if (node[part] === undefined || typeof node[part] !== 'object') node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  // Copied through JSON so no VS Code proxy object leaks into the message.
  node[parts[parts.length - 1]] = JSON.parse(JSON.stringify(value ?? null));
}

/**
 * The settings the user set, nested, with the effective value VS Code resolves for each
 * (`get`); a setting nobody set is left out, so the server falls back to env and files.
 */
export function userSettings(get: SettingGetter, inspect: SettingInspector): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(SETTING_DEFAULTS)) {
    if (isUserSet(inspect(key))) setNested(out, key, get(key));
  }
  return out;
}
