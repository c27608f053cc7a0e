import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { describeExit, launchServer, OutputTail, RestartBudget } from '../src/serverProcess';

describe('OutputTail', () => {
  test('keeps the last non-empty lines across chunk boundaries', () => {
    const tail = new OutputTail(3);
    tail.push('one\ntw');
    tail.push('o\n\nthree\r\nfour\n');
    assert.deepEqual(tail.lines(), ['two', 'three', 'four']);
  });

  test('cuts very long lines and bounds what it holds', () => {
    const tail = new OutputTail(2, 1000);
    tail.push('x'.repeat(100_000) + '\n' + 'y'.repeat(400));
    const [first, last] = tail.lines();
    assert.equal(last.length, 300);
    assert.ok(last.startsWith('yyy') && last.endsWith('...'));
    // Only the end of the x line was kept (2 × maxChars in all).
    assert.ok(first.startsWith('xxx'));
  });
});

describe('describeExit', () => {
  test('code, signal or spawn error', () => {
    assert.equal(describeExit({ code: 3, signal: null }), 'exited with code 3');
    assert.equal(describeExit({ code: null, signal: 'SIGKILL' }), 'was killed by SIGKILL');
    assert.equal(describeExit({ code: null, signal: null, spawnError: 'ENOENT' }), 'could not be started (ENOENT)');
  });
});

describe('RestartBudget', () => {
  test('allows max restarts per window, then again once the window moved on', () => {
    const budget = new RestartBudget(2, 1000);
    assert.equal(budget.take(0), true);
    assert.equal(budget.take(10), true);
    assert.equal(budget.take(20), false);
    assert.equal(budget.take(1011), true);
    budget.reset();
    assert.equal(budget.take(1012), true);
  });
});

describe('launchServer', () => {
  test('reports the exit code and the stderr tail of a real process', async () => {
    const launched = launchServer(
      process.execPath,
      ['-e', 'process.stderr.write("first\\nlast words\\n"); process.exit(3)'],
      process.cwd(),
    );
    const exit = await launched.exit;
    assert.deepEqual(exit, { code: 3, signal: null });
    assert.deepEqual(launched.tail.lines(), ['first', 'last words']);
    assert.deepEqual(launched.exited(), exit);
  });

  test('a missing executable is a spawn error, not a crash', async () => {
    const launched = launchServer('/nonexistent/aurelis', ['serve'], process.cwd());
    const exit = await launched.exit;
    assert.equal(exit.spawnError, 'ENOENT');
  });
});
