import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { TRUST_COMMANDS, trustArguments, trustErrorMessage, trustResultMessage } from '../src/trust';

const [trust, untrust] = TRUST_COMMANDS;

describe('trustArguments', () => {
  test('one folder as {uri}; none means every workspace folder', () => {
    assert.deepEqual(trustArguments('file:///w/p'), [{ uri: 'file:///w/p' }]);
    assert.deepEqual(trustArguments(undefined), []);
  });
});

describe('trustResultMessage', () => {
  test('names the trusted paths', () => {
    assert.equal(
      trustResultMessage(trust, { trusted: ['/w/a', '/w/b'] }),
      'Aurelis: trusted the project settings of /w/a, /w/b.',
    );
  });

  test('says so when nothing was trusted or the answer is malformed', () => {
    for (const result of [{ trusted: [] }, null, 'yes', { trusted: [1] }]) {
      assert.match(trustResultMessage(trust, result), /no project settings were trusted/);
    }
  });

  test('names the untrusted paths', () => {
    assert.equal(
      trustResultMessage(untrust, { untrusted: ['/w/a'] }),
      'Aurelis: the project settings of /w/a are no longer trusted.',
    );
    assert.match(trustResultMessage(untrust, {}), /no trusted project settings/);
  });
});

describe('trustErrorMessage', () => {
  test('carries the server message (e.g. the restricted-mode refusal)', () => {
    const message = trustErrorMessage(trust, new Error('this workspace is in restricted mode'));
    assert.equal(message, 'Aurelis: Trust Project Settings failed: this workspace is in restricted mode');
  });
});
