import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  CancellationLike,
  debounceDelay,
  MAX_DEBOUNCE_MS,
  TRIGGER_AUTOMATIC,
  TRIGGER_INVOKE,
  waitUnlessCancelled,
} from '../src/inline';

class FakeToken implements CancellationLike {
  isCancellationRequested = false;
  private listeners: Array<() => void> = [];
  disposed = 0;
  onCancellationRequested(listener: () => void): { dispose(): void } {
    this.listeners.push(listener);
    return { dispose: () => void this.disposed++ };
  }
  cancel(): void {
    this.isCancellationRequested = true;
    for (const l of this.listeners) l();
  }
}

describe('debounceDelay', () => {
  test('automatic triggers wait the configured time', () => {
    assert.equal(debounceDelay(TRIGGER_AUTOMATIC, 150), 150);
  });

  test('explicit (invoked) triggers are not delayed', () => {
    assert.equal(debounceDelay(TRIGGER_INVOKE, 150), 0);
  });

  test('bad values mean no delay', () => {
    assert.equal(debounceDelay(TRIGGER_AUTOMATIC, -5), 0);
    assert.equal(debounceDelay(TRIGGER_AUTOMATIC, 'soon'), 0);
    assert.equal(debounceDelay(TRIGGER_AUTOMATIC, Number.NaN), 0);
  });

  test('huge values are capped', () => {
    assert.equal(debounceDelay(TRIGGER_AUTOMATIC, 60_000), MAX_DEBOUNCE_MS);
  });
});

describe('waitUnlessCancelled', () => {
  test('resolves true after the delay when nothing cancels', async () => {
    const start = Date.now();
    assert.equal(await waitUnlessCancelled(30, new FakeToken()), true);
    assert.ok(Date.now() - start >= 25);
  });

  test('resolves false at once when cancelled during the wait', async () => {
    const token = new FakeToken();
    const start = Date.now();
    const waiting = waitUnlessCancelled(5_000, token);
    setTimeout(() => token.cancel(), 10);
    assert.equal(await waiting, false);
    assert.ok(Date.now() - start < 1_000);
    assert.equal(token.disposed, 1);
  });

  test('resolves false when already cancelled', async () => {
    const token = new FakeToken();
    token.cancel();
    assert.equal(await waitUnlessCancelled(100, token), false);
  });

  test('a zero delay resolves true without waiting', async () => {
    assert.equal(await waitUnlessCancelled(0, new FakeToken()), true);
  });
});
