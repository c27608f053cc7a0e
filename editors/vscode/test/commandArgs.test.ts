import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { buildCommandArguments, EditorSnapshot } from '../src/commandArgs';

function editor(
  anchor: [number, number],
  active: [number, number],
  version = 7,
): EditorSnapshot {
  return {
    uri: 'file:///work/project/app.py',
    version,
    selection: {
      anchor: { line: anchor[0], character: anchor[1] },
      active: { line: active[0], character: active[1] },
    },
  };
}

describe('buildCommandArguments', () => {
  test('an empty selection sends the cursor as position and no range', () => {
    const args = buildCommandArguments(editor([3, 4], [3, 4]));
    assert.deepEqual(args, {
      uri: 'file:///work/project/app.py',
      version: 7,
      position: { line: 3, character: 4 },
    });
    assert.equal('range' in args, false);
    assert.equal('instruction' in args, false);
  });

  test('a selection made downwards is sent as the range, cursor at its end', () => {
    const args = buildCommandArguments(editor([1, 0], [5, 2]));
    assert.deepEqual(args.range, { start: { line: 1, character: 0 }, end: { line: 5, character: 2 } });
    assert.deepEqual(args.position, { line: 5, character: 2 });
  });

  test('a selection made upwards is sent as an ordered range, cursor at its start', () => {
    const args = buildCommandArguments(editor([5, 2], [1, 0]));
    assert.deepEqual(args.range, { start: { line: 1, character: 0 }, end: { line: 5, character: 2 } });
    assert.deepEqual(args.position, { line: 1, character: 0 });
  });

  test('a selection within one line orders by character', () => {
    const args = buildCommandArguments(editor([2, 9], [2, 3]));
    assert.deepEqual(args.range, { start: { line: 2, character: 3 }, end: { line: 2, character: 9 } });
  });

  test('the instruction is included when given', () => {
    const args = buildCommandArguments(editor([0, 0], [0, 0]), 'add a CLI entry point');
    assert.equal(args.instruction, 'add a CLI entry point');
  });

  test('an empty instruction is left out', () => {
    const args = buildCommandArguments(editor([0, 0], [0, 0]), '');
    assert.equal('instruction' in args, false);
  });

  test('the document version is passed through for stale-edit checks', () => {
    assert.equal(buildCommandArguments(editor([0, 0], [0, 0], 42)).version, 42);
  });

  test('the result is plain JSON that survives a round trip unchanged', () => {
    const args = buildCommandArguments(editor([1, 1], [2, 2]), 'x');
    assert.deepEqual(JSON.parse(JSON.stringify(args)), args);
  });

  test('positions are copies, not the snapshot objects', () => {
    const snap = editor([1, 1], [2, 2]);
    const args = buildCommandArguments(snap);
    assert.notEqual(args.position, snap.selection.active);
  });
});
