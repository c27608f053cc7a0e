import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { escapeMarkdown, parseStatusParams, renderStatus, StatusParams } from '../src/status';

function status(overrides: Partial<StatusParams> = {}): StatusParams {
  return {
    provider: 'local',
    endpoint: null,
    offline: true,
    busy: false,
    last_error: null,
    models: {},
    ...overrides,
  };
}

describe('renderStatus', () => {
  test('idle on the local model shows the sparkle and the provider', () => {
    const view = renderStatus('running', status());
    assert.equal(view.text, '$(sparkle) Aurelis: local');
    assert.equal(view.severity, 'normal');
    assert.match(view.tooltip, /Provider: `local`/);
    assert.match(view.tooltip, /Endpoint: none \(embedded local model\)/);
    assert.match(view.tooltip, /Offline/);
  });

  test('a remote provider shows its name and endpoint', () => {
    const view = renderStatus(
      'running',
      status({ provider: 'azure', endpoint: 'https://example.test/models', offline: false }),
    );
    assert.equal(view.text, '$(sparkle) Aurelis: azure');
    assert.match(view.tooltip, /Endpoint: `https:\/\/example\.test\/models`/);
    assert.doesNotMatch(view.tooltip, /Offline/);
  });

  test('a remote provider that went offline says so in the text', () => {
    const view = renderStatus('running', status({ provider: 'azure', offline: true }));
    assert.equal(view.text, '$(sparkle) Aurelis: azure (offline)');
  });

  test('busy shows a spinner', () => {
    const view = renderStatus('running', status({ busy: true }));
    assert.equal(view.text, '$(sync~spin) Aurelis');
    assert.equal(view.severity, 'normal');
    assert.match(view.tooltip, /Working on a request/);
  });

  test('an error shows a warning with the error in the tooltip', () => {
    const view = renderStatus('running', status({ last_error: 'HTTP 410: GitHub Models was retired' }));
    assert.equal(view.text, '$(warning) Aurelis');
    assert.equal(view.severity, 'warning');
    assert.match(view.tooltip, /Last error/);
    assert.match(view.tooltip, /HTTP 410: GitHub Models was retired/);
  });

  test('busy wins over a previous error in the text, the error stays in the tooltip', () => {
    const view = renderStatus('running', status({ busy: true, last_error: 'timeout' }));
    assert.equal(view.text, '$(sync~spin) Aurelis');
    assert.match(view.tooltip, /timeout/);
  });

  test('model health, breaker state and remaining rate limit are listed, sorted by name', () => {
    const view = renderStatus(
      'running',
      status({
        provider: 'azure',
        models: {
          'openai/gpt-4o': { healthy: false, breaker: 'open', rate_limit_remaining: 0 },
          'mistral-ai/Codestral-2501': { healthy: true, breaker: 'closed', rate_limit_remaining: 12 },
          local: { healthy: true, breaker: 'half_open', rate_limit_remaining: null },
        },
      }),
    );
    const lines = view.tooltip.split('\n').filter((l) => l.startsWith('- `'));
    assert.deepEqual(lines, [
      '- `local`: $(check) healthy, breaker half-open',
      '- `mistral-ai/Codestral-2501`: $(check) healthy, 12 requests left',
      '- `openai/gpt-4o`: $(error) unhealthy, breaker open, 0 requests left',
    ]);
  });

  test('before the first notification the item says it is starting', () => {
    const view = renderStatus('running', undefined);
    assert.equal(view.text, '$(loading~spin) Aurelis');
    assert.match(view.tooltip, /starting/);
  });

  test('a stopped client is an error whatever the last status said', () => {
    const view = renderStatus('stopped', status());
    assert.equal(view.text, '$(circle-slash) Aurelis');
    assert.equal(view.severity, 'error');
    assert.match(view.tooltip, /not running/);
  });

  test('the tooltip tells what a click does', () => {
    assert.match(renderStatus('running', status()).tooltip, /Click to show the Aurelis output/);
  });

  test('markdown in an error message is shown literally', () => {
    const view = renderStatus('running', status({ last_error: '**bad** [link](x) $(zap)' }));
    assert.match(view.tooltip, /\\\*\\\*bad\\\*\\\* \\\[link\\\]\\\(x\\\) \\\$\\\(zap\\\)/);
  });
});

describe('escapeMarkdown', () => {
  test('escapes markdown syntax and keeps line breaks', () => {
    assert.equal(escapeMarkdown('a_b\nc'), 'a\\_b  \nc');
  });
});

describe('parseStatusParams', () => {
  test('accepts the documented shape unchanged', () => {
    const raw = status({
      provider: 'azure',
      endpoint: 'https://e.test',
      offline: false,
      busy: true,
      last_error: 'x',
      models: { m: { healthy: true, breaker: 'half_open', rate_limit_remaining: 3 } },
    });
    assert.deepEqual(parseStatusParams(JSON.parse(JSON.stringify(raw))), raw);
  });

  test('rejects non-objects', () => {
    assert.equal(parseStatusParams(null), undefined);
    assert.equal(parseStatusParams('busy'), undefined);
    assert.equal(parseStatusParams([1]), undefined);
  });

  test('fills safe defaults for missing or malformed fields', () => {
    assert.deepEqual(
      parseStatusParams({ models: { a: { breaker: 'weird' }, b: 5 }, busy: 'yes', last_error: '' }),
      {
        provider: 'unknown',
        endpoint: null,
        offline: false,
        busy: false,
        last_error: null,
        models: { a: { healthy: true, breaker: 'closed', rate_limit_remaining: null } },
      },
    );
  });
});

describe('renderStatus when the server stopped', () => {
  test('names why in the tooltip, escaped', () => {
    const view = renderStatus('stopped', undefined, 'exited with code 3: fake-aurelis: *no* server');
    assert.equal(view.text, '$(circle-slash) Aurelis');
    assert.equal(view.severity, 'error');
    assert.match(view.tooltip, /not running\.\n\nexited with code 3: fake\\-aurelis: \\\*no\\\* server/);
  });

  test('without a reason it only says it is not running', () => {
    assert.doesNotMatch(renderStatus('stopped', undefined).tooltip, /exited/);
  });
});
