/**
 * Suggestion outcome reporting on the stand-in host: the provider the language client
 * registers gets show / partial-accept hooks that notify the server, items handed to the
 * editor count as shown once, and accept stays the item's own command.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Host, installFakeVscode } from '../harness/fakeVscode';
import {
  ACCEPT_COMMAND,
  installSuggestionOutcomes,
  PARTIAL_NOTIFICATION,
  SHOWN_NOTIFICATION,
  suggestionId,
  SuggestionOutcomes,
} from '../src/suggestionOutcomes';

function item(id: string, insertText = 'return a + b'): Record<string, unknown> {
  return { insertText, command: { title: 'Accept', command: ACCEPT_COMMAND, arguments: [id] } };
}

function recorder(): { sent: Array<[string, Record<string, unknown>]>; notify: (m: string, p: Record<string, unknown>) => void } {
  const sent: Array<[string, Record<string, unknown>]> = [];
  return { sent, notify: (method, params) => void sent.push([method, params]) };
}

describe('suggestionId', () => {
  test('reads the id from the accept command', () => {
    assert.equal(suggestionId(item('abc')), 'abc');
  });

  test('items of other providers or malformed ones have none', () => {
    assert.equal(suggestionId({ insertText: 'x' }), undefined);
    assert.equal(suggestionId({ command: { command: 'other.accept', arguments: ['abc'] } }), undefined);
    assert.equal(suggestionId({ command: { command: ACCEPT_COMMAND, arguments: [42] } }), undefined);
    assert.equal(suggestionId(null), undefined);
  });
});

describe('on the stand-in VS Code host', () => {
  test('the registered provider reports show and partial accept to the server', () => {
    const host = new Host();
    const uninstall = installFakeVscode(host);
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const vscode = require('vscode');
      const { sent, notify } = recorder();
      const undo = installSuggestionOutcomes(vscode.languages, new SuggestionOutcomes(notify));
      // What vscode-languageclient does when the server advertises inline completion.
      vscode.languages.registerInlineCompletionItemProvider({ language: 'python' }, {
        provideInlineCompletionItems: () => [item('id-1')],
      });
      const { provider } = host.inlineProviders[0];

      provider.handleDidShowCompletionItem(item('id-1'), 'return a + b');
      provider.handleDidShowCompletionItem(item('id-1'), 'return a + b'); // shown again: once
      provider.handleDidPartiallyAcceptCompletionItem(item('id-1'), 6);
      provider.handleDidPartiallyAcceptCompletionItem(item('id-2'), { kind: 0, acceptedLength: 3 });
      provider.handleDidPartiallyAcceptCompletionItem(item('id-3'), 0); // nothing taken

      assert.deepEqual(sent, [
        [SHOWN_NOTIFICATION, { id: 'id-1' }],
        [PARTIAL_NOTIFICATION, { id: 'id-1', acceptedLength: 6 }],
        [SHOWN_NOTIFICATION, { id: 'id-2' }],
        [PARTIAL_NOTIFICATION, { id: 'id-2', acceptedLength: 3 }],
      ]);
      undo.dispose();
    } finally {
      uninstall();
    }
  });

  test('a restarted client does not stack reporters, and the provider keeps its own hooks', () => {
    const host = new Host();
    const uninstall = installFakeVscode(host);
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const vscode = require('vscode');
      const first = recorder();
      const second = recorder();
      installSuggestionOutcomes(vscode.languages, new SuggestionOutcomes(first.notify));
      const undo = installSuggestionOutcomes(vscode.languages, new SuggestionOutcomes(second.notify));
      const own: unknown[] = [];
      vscode.languages.registerInlineCompletionItemProvider({ language: 'python' }, {
        provideInlineCompletionItems: () => [],
        handleDidShowCompletionItem: (shown: unknown) => void own.push(shown),
      });

      host.inlineProviders[0].provider.handleDidShowCompletionItem(item('id-9'));

      assert.deepEqual(first.sent, []);
      assert.deepEqual(second.sent, [[SHOWN_NOTIFICATION, { id: 'id-9' }]]);
      assert.equal(own.length, 1);
      undo.dispose();
    } finally {
      uninstall();
    }
  });
});

describe('delivered', () => {
  test('the first item handed to the editor counts as shown, once', () => {
    const { sent, notify } = recorder();
    const outcomes = new SuggestionOutcomes(notify);
    const list = { items: [item('a'), item('b')] };
    assert.equal(outcomes.delivered(list), list);
    outcomes.delivered([item('a')]);
    outcomes.delivered(null);
    assert.deepEqual(sent, [[SHOWN_NOTIFICATION, { id: 'a' }]]);
  });

  test('a stopped client that rejects does not break the editor', async () => {
    const outcomes = new SuggestionOutcomes(() => Promise.reject(new Error('client is not running')));
    outcomes.shown(item('z'));
    await new Promise((resolve) => setTimeout(resolve, 10)); // an unhandled rejection would fail here
  });
});
