import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { COMMANDS, resolveInstruction, specForServerCommand } from '../src/commands';

describe('command table', () => {
  test('lists the eight server commands', () => {
    assert.deepEqual(
      COMMANDS.map((c) => c.serverCommand),
      [
        'aurelis.generate',
        'aurelis.document',
        'aurelis.refactor',
        'aurelis.optimize',
        'aurelis.addErrorHandling',
        'aurelis.generateTests',
        'aurelis.explain',
        'aurelis.analyze',
      ],
    );
  });

  test('client command ids never equal a server command id', () => {
    const server = new Set(COMMANDS.map((c) => c.serverCommand));
    for (const c of COMMANDS) {
      assert.equal(server.has(c.clientCommand), false, c.clientCommand);
      assert.equal(c.clientCommand, `aurelis.client.${c.name}`);
    }
  });

  test('explain and analyze expect markdown, the rest expect an edit result', () => {
    for (const c of COMMANDS) {
      const expected = c.name === 'explain' || c.name === 'analyze' ? 'markdown' : 'edit';
      assert.equal(c.result, expected, c.name);
    }
  });

  test('generate requires an instruction and refactor takes an optional one', () => {
    assert.equal(specForServerCommand('aurelis.generate')?.prompt, 'required');
    assert.equal(specForServerCommand('aurelis.refactor')?.prompt, 'optional');
    const others = COMMANDS.filter((c) => c.name !== 'generate' && c.name !== 'refactor');
    assert.ok(others.every((c) => c.prompt === 'none'));
  });

  test('explain opens a panel titled "Aurelis: Explanation"', () => {
    assert.equal(specForServerCommand('aurelis.explain')?.panelTitle, 'Aurelis: Explanation');
  });

  test('unknown server commands have no spec', () => {
    assert.equal(specForServerCommand('aurelis.client.generate'), undefined);
    assert.equal(specForServerCommand('other.generate'), undefined);
  });
});

describe('resolveInstruction', () => {
  test('commands without a prompt proceed without an instruction', () => {
    assert.deepEqual(resolveInstruction('none', undefined), { proceed: true });
  });

  test('escape cancels a required prompt', () => {
    assert.deepEqual(resolveInstruction('required', undefined), { proceed: false, reason: 'cancelled' });
  });

  test('escape cancels an optional prompt too', () => {
    assert.deepEqual(resolveInstruction('optional', undefined), { proceed: false, reason: 'cancelled' });
  });

  test('an empty or blank answer is refused for a required prompt', () => {
    assert.deepEqual(resolveInstruction('required', '   '), { proceed: false, reason: 'empty' });
  });

  test('an empty answer to an optional prompt proceeds without an instruction', () => {
    assert.deepEqual(resolveInstruction('optional', ''), { proceed: true });
  });

  test('answers are trimmed', () => {
    assert.deepEqual(resolveInstruction('required', '  write a parser \n'), {
      proceed: true,
      instruction: 'write a parser',
    });
  });
});
