import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { CommandSpec, specForServerCommand } from '../src/commands';
import { errorMessage, presentResult } from '../src/results';

function spec(name: string): CommandSpec {
  const s = specForServerCommand(`aurelis.${name}`);
  assert.ok(s, name);
  return s;
}

describe('presentResult for explain / analyze', () => {
  test('markdown opens the panel with the explanation title', () => {
    assert.deepEqual(presentResult(spec('explain'), { markdown: '# Hi\nThis adds.' }), {
      kind: 'markdown',
      title: 'Aurelis: Explanation',
      markdown: '# Hi\nThis adds.',
    });
  });

  test('analyze uses its own title', () => {
    const p = presentResult(spec('analyze'), { markdown: '- fine' });
    assert.equal(p.kind, 'markdown');
    assert.equal(p.kind === 'markdown' && p.title, 'Aurelis: Analysis');
  });

  test('blank markdown is reported instead of an empty panel', () => {
    assert.equal(presentResult(spec('explain'), { markdown: '  ' }).kind, 'info');
  });

  test('a result without markdown is a warning', () => {
    assert.equal(presentResult(spec('explain'), { applied: true }).kind, 'warning');
  });
});

describe('presentResult for edit commands', () => {
  test('not applied with a message shows the message as information', () => {
    assert.deepEqual(
      presentResult(spec('generate'), { applied: false, message: 'The document changed; try again.' }),
      { kind: 'info', message: 'The document changed; try again.' },
    );
  });

  test('not applied without a message shows nothing', () => {
    assert.deepEqual(presentResult(spec('optimize'), { applied: false }), { kind: 'none' });
  });

  test('applied without a message shows nothing (the edit is the feedback)', () => {
    assert.deepEqual(presentResult(spec('document'), { applied: true }), { kind: 'none' });
  });

  test('applied with a message goes to the status bar briefly', () => {
    assert.deepEqual(presentResult(spec('generateTests'), { applied: true, message: 'Added 3 tests' }), {
      kind: 'status',
      message: 'Added 3 tests',
    });
  });

  test('a blank message counts as no message', () => {
    assert.deepEqual(presentResult(spec('refactor'), { applied: false, message: ' ' }), { kind: 'none' });
  });

  test('a malformed result is a warning naming the command', () => {
    const p = presentResult(spec('addErrorHandling'), 'ok');
    assert.equal(p.kind, 'warning');
    assert.match(p.kind === 'warning' ? p.message : '', /aurelis\.addErrorHandling/);
  });
});

describe('presentResult for a missing result', () => {
  test('null or undefined (a failed request the client already reported) shows nothing', () => {
    assert.deepEqual(presentResult(spec('generate'), null), { kind: 'none' });
    assert.deepEqual(presentResult(spec('explain'), undefined), { kind: 'none' });
  });
});

describe('errorMessage', () => {
  test('includes the server error message', () => {
    assert.equal(
      errorMessage(spec('generate'), { code: -32603, message: 'No model is available' }),
      'Aurelis: Generate Code failed: No model is available',
    );
  });

  test('is silent for cancelled requests', () => {
    assert.equal(errorMessage(spec('generate'), { code: -32800, message: 'cancelled' }), undefined);
    assert.equal(errorMessage(spec('generate'), { code: -32802, message: 'cancelled' }), undefined);
  });

  test('handles Error objects and unknown values', () => {
    assert.equal(errorMessage(spec('explain'), new Error('boom')), 'Aurelis: Explain Code failed: boom');
    assert.equal(errorMessage(spec('explain'), 42), 'Aurelis: Explain Code failed.');
  });
});
