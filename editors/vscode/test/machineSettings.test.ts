import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  ignoredMachineSettings,
  ignoredSettingsMessage,
  parseSettings,
  SettingsFile,
  stripJsonComments,
} from '../src/machineSettings';

const file = (text: string, label = 'User settings'): SettingsFile => ({ label, path: '/u/settings.json', text });

describe('stripJsonComments', () => {
  test('drops comments and trailing commas, keeps strings that look like them', () => {
    const text = '{\n  // a comment\n  "a": "http://x/*y*/", /* block */\n  "b": [1, 2,],\n}';
    assert.deepEqual(JSON.parse(stripJsonComments(text)), { a: 'http://x/*y*/', b: [1, 2] });
  });

  test('an escaped quote does not end a string', () => {
    assert.deepEqual(parseSettings('{"a": "say \\"hi\\" // not a comment"}'), { a: 'say "hi" // not a comment' });
  });

  test('not an object, or broken, is undefined', () => {
    assert.equal(parseSettings('[1]'), undefined);
    assert.equal(parseSettings('{"a": '), undefined);
  });
});

describe('ignoredMachineSettings', () => {
  test('a machine-scoped value VS Code did not apply is reported with its file', () => {
    const user = file('{ "aurelis.server.command": "/opt/aurelis/bin/aurelis", "aurelis.cache.enabled": false }');
    const found = ignoredMachineSettings([user], (key) => (key === 'server.command' ? 'aurelis' : undefined));
    assert.deepEqual(found, [{ key: 'aurelis.server.command', file: user }]);
  });

  test('a value VS Code applied (the same effective value) is not reported', () => {
    const user = file('{ "aurelis.endpoint": "http://127.0.0.1:11434/v1" }');
    assert.deepEqual(ignoredMachineSettings([user], () => 'http://127.0.0.1:11434/v1'), []);
  });

  test('objects compare by value', () => {
    const user = file('{ "aurelis.models.routing": { "testing": "m" } }');
    assert.deepEqual(ignoredMachineSettings([user], () => ({ testing: 'm' })), []);
  });
});

describe('ignoredSettingsMessage', () => {
  test('names each key and file, and the settings that count', () => {
    const ws = file('{}', 'the settings of workspace folder "app"');
    const message = ignoredSettingsMessage(
      [
        { key: 'aurelis.endpoint', file: ws },
        { key: 'aurelis.provider', file: ws },
      ],
      true,
    );
    assert.match(message ?? '', /ignores `aurelis\.endpoint` in the settings of workspace folder "app" \(\/u\/settings\.json\), `aurelis\.provider`/);
    assert.match(message ?? '', /Remote \(Machine\) settings/);
    assert.match(ignoredSettingsMessage([{ key: 'aurelis.endpoint', file: ws }], false) ?? '', /User settings/);
  });

  test('nothing ignored, nothing to say', () => {
    assert.equal(ignoredSettingsMessage([], true), undefined);
  });
});
