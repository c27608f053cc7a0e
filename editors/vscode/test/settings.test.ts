import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { isUserSet, SettingInspection, userSettings } from '../src/settings';

/** A getter/inspector pair over settings set in one layer, with package.json defaults. */
function layer(values: Record<string, unknown>, where: keyof SettingInspection = 'globalValue') {
  const inspect = (key: string): SettingInspection =>
    key in values ? { [where]: values[key] } : {};
  return { get: (key: string) => values[key], inspect };
}

describe('userSettings', () => {
  test('with nothing set nothing is sent, so env and config files decide', () => {
    const { get, inspect } = layer({});
    assert.deepEqual(userSettings(get, inspect), {});
  });

  test('sends only what was set, nested as VS Code nests it', () => {
    const { get, inspect } = layer({
      endpoint: 'http://127.0.0.1:11434/v1',
      'models.routing': { code_generation: 'openai/gpt-4o' },
      'inlineCompletion.enabled': false,
    });
    assert.deepEqual(userSettings(get, inspect), {
      endpoint: 'http://127.0.0.1:11434/v1',
      models: { routing: { code_generation: 'openai/gpt-4o' } },
      inlineCompletion: { enabled: false },
    });
  });

  test('a value equal to the default still counts when the user set it', () => {
    const { get, inspect } = layer({ provider: 'auto', 'cache.enabled': true });
    assert.deepEqual(userSettings(get, inspect), { provider: 'auto', cache: { enabled: true } });
  });

  test('workspace and folder layers count as set', () => {
    for (const where of ['workspaceValue', 'workspaceFolderValue', 'workspaceLanguageValue'] as const) {
      const { get, inspect } = layer({ 'inlineCompletion.debounceMs': 300 }, where);
      assert.deepEqual(userSettings(get, inspect), { inlineCompletion: { debounceMs: 300 } }, where);
    }
  });

  test('copies values so later changes to the source do not leak in', () => {
    const routing = { testing: 'a' };
    const { get, inspect } = layer({ 'models.routing': routing });
    const s = userSettings(get, inspect);
    routing.testing = 'b';
    assert.deepEqual(s.models, { routing: { testing: 'a' } });
  });

  test('keys outside the declared settings are never sent', () => {
    const { get, inspect } = layer({ 'token': 'secret', endpoint: 'http://e/v1' });
    assert.deepEqual(userSettings(get, inspect), { endpoint: 'http://e/v1' });
  });
});

describe('isUserSet', () => {
  test('a default alone is not set; undefined inspection is not set', () => {
    assert.equal(isUserSet(undefined), false);
    assert.equal(isUserSet({}), false);
    assert.equal(isUserSet({ globalValue: '' }), true);
  });
});
