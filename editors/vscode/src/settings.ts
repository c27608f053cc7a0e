/**
 * The `aurelis.*` settings as one plain JSON object, sent as `initializationOptions`.
 * The same section reaches the server later through `workspace/configuration`
 * (section "aurelis") and `workspace/didChangeConfiguration` (`{settings: {aurelis: {...}}}`).
 *
 * Shape (dotted setting keys become nested objects, as VS Code itself does):
 *   { server: {command, args}, pythonPath, trace: {server},
 *     inlineCompletion: {enabled, debounceMs}, endpoint, provider,
 *     models: {routing}, cache: {enabled} }
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
});

export type SettingGetter = (key: string) => unknown;

/** Build the nested settings object from a getter (e.g. `WorkspaceConfiguration.get`). */
export function settingsSnapshot(get: SettingGetter): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, fallback] of Object.entries(SETTING_DEFAULTS)) {
    const raw = get(key);
    const value = raw === undefined ? fallback : raw;
    const parts = key.split('.');
    let node = out;
    for (const part of parts.slice(0, -1)) {
      if (node[part] === undefined || typeof node[part] !== 'object') node[part] = {};
      node = node[part] as Record<string, unknown>;
    }
    // Copy through JSON so no VS Code proxy objects leak into the message.
    node[parts[parts.length - 1]] = JSON.parse(JSON.stringify(value ?? null));
  }
  return out;
}
