import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { settingsSnapshot } from '../src/settings';

describe('settingsSnapshot', () => {
  test('with nothing set it is the nested defaults', () => {
    assert.deepEqual(settingsSnapshot(() => undefined), {
      server: { command: 'aurelis', args: ['serve'] },
      pythonPath: '',
      trace: { server: 'off' },
      inlineCompletion: { enabled: true, debounceMs: 150 },
      endpoint: '',
      provider: 'auto',
      models: { routing: {} },
      cache: { enabled: true },
    });
  });

  test('uses the values the getter returns', () => {
    const values: Record<string, unknown> = {
      endpoint: 'http://127.0.0.1:11434/v1',
      provider: 'azure',
      'models.routing': { code_generation: 'openai/gpt-4o' },
      'inlineCompletion.enabled': false,
      'cache.enabled': false,
    };
    const s = settingsSnapshot((key) => values[key]);
    assert.equal(s.endpoint, 'http://127.0.0.1:11434/v1');
    assert.equal(s.provider, 'azure');
    assert.deepEqual(s.models, { routing: { code_generation: 'openai/gpt-4o' } });
    assert.deepEqual(s.inlineCompletion, { enabled: false, debounceMs: 150 });
    assert.deepEqual(s.cache, { enabled: false });
  });

  test('copies values so later changes to the source do not leak in', () => {
    const routing = { testing: 'a' };
    const s = settingsSnapshot((key) => (key === 'models.routing' ? routing : undefined));
    routing.testing = 'b';
    assert.deepEqual(s.models, { routing: { testing: 'a' } });
  });

  test('a null value is kept as null, not replaced by the default', () => {
    const s = settingsSnapshot((key) => (key === 'endpoint' ? null : undefined));
    assert.equal(s.endpoint, null);
  });
});
