import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  expandPath,
  findExecutable,
  notFoundMessage,
  PathLookup,
  resolveServerExecutable,
  startFailureMessage,
} from '../src/serverOptions';

const ctx = { homeDir: '/home/dev', workspaceFolder: '/work/project' };

describe('resolveServerExecutable', () => {
  test('defaults to `aurelis serve`', () => {
    const exe = resolveServerExecutable({}, ctx);
    assert.equal(exe.command, 'aurelis');
    assert.deepEqual(exe.args, ['serve']);
    assert.equal(exe.display, 'aurelis serve');
  });

  test('uses the configured command and args', () => {
    const exe = resolveServerExecutable(
      { command: '/opt/aurelis/bin/aurelis', args: ['serve', '--log-level', 'debug'] },
      ctx,
    );
    assert.equal(exe.command, '/opt/aurelis/bin/aurelis');
    assert.deepEqual(exe.args, ['serve', '--log-level', 'debug']);
  });

  test('pythonPath runs the module with the interpreter: <python> -m aurelis serve', () => {
    const exe = resolveServerExecutable(
      { command: 'ignored', args: ['serve'], pythonPath: '/usr/bin/python3' },
      ctx,
    );
    assert.equal(exe.command, '/usr/bin/python3');
    assert.deepEqual(exe.args, ['-m', 'aurelis', 'serve']);
    assert.equal(exe.display, '/usr/bin/python3 -m aurelis serve');
  });

  test('pythonPath keeps custom server args after -m aurelis', () => {
    const exe = resolveServerExecutable({ args: ['serve', '--verbose'], pythonPath: 'python' }, ctx);
    assert.deepEqual(exe.args, ['-m', 'aurelis', 'serve', '--verbose']);
  });

  test('a blank pythonPath is ignored', () => {
    const exe = resolveServerExecutable({ pythonPath: '   ' }, ctx);
    assert.equal(exe.command, 'aurelis');
  });

  test('pythonPath expands ${workspaceFolder} (a project venv)', () => {
    const exe = resolveServerExecutable({ pythonPath: '${workspaceFolder}/.venv/bin/python' }, ctx);
    assert.equal(exe.command, '/work/project/.venv/bin/python');
  });

  test('a blank command or malformed args fall back to the defaults', () => {
    const exe = resolveServerExecutable({ command: '', args: ['serve', 3] }, ctx);
    assert.equal(exe.command, 'aurelis');
    assert.deepEqual(exe.args, ['serve']);
  });

  test('an empty args array is honoured', () => {
    assert.deepEqual(resolveServerExecutable({ args: [] }, ctx).args, []);
  });

  test('the display quotes parts with spaces', () => {
    const exe = resolveServerExecutable({ pythonPath: '/Users/Dev Name/venv/bin/python' }, ctx);
    assert.equal(exe.display, '"/Users/Dev Name/venv/bin/python" -m aurelis serve');
  });
});

describe('expandPath', () => {
  test('expands a leading ~', () => {
    assert.equal(expandPath('~/venv/bin/python', ctx), '/home/dev/venv/bin/python');
    assert.equal(expandPath('~', ctx), '/home/dev');
  });

  test('leaves ~ inside a path alone', () => {
    assert.equal(expandPath('/opt/~x/python', ctx), '/opt/~x/python');
  });

  test('expands ${userHome}', () => {
    assert.equal(expandPath('${userHome}/bin/aurelis', ctx), '/home/dev/bin/aurelis');
  });

  test('leaves ${workspaceFolder} when there is no folder', () => {
    assert.equal(
      expandPath('${workspaceFolder}/python', { homeDir: '/h' }),
      '${workspaceFolder}/python',
    );
  });
});

describe('findExecutable', () => {
  function posix(files: string[], path = '/usr/local/bin:/usr/bin'): PathLookup {
    const set = new Set(files);
    return { path, platform: 'linux', cwd: '/work/project', isExecutable: (f) => set.has(f) };
  }

  test('finds a bare name in the first PATH directory that has it', () => {
    const lookup = posix(['/usr/bin/aurelis', '/usr/local/bin/aurelis']);
    assert.equal(findExecutable('aurelis', lookup), '/usr/local/bin/aurelis');
  });

  test('is undefined when no PATH directory has it', () => {
    assert.equal(findExecutable('aurelis', posix(['/usr/bin/python3'])), undefined);
  });

  test('checks an absolute path as is, without PATH', () => {
    assert.equal(findExecutable('/opt/venv/bin/python', posix(['/opt/venv/bin/python'], '')), '/opt/venv/bin/python');
    assert.equal(findExecutable('/opt/venv/bin/python', posix([])), undefined);
  });

  test('resolves a relative path against the server directory', () => {
    const lookup = posix(['/work/project/.venv/bin/python']);
    assert.equal(findExecutable('.venv/bin/python', lookup), '/work/project/.venv/bin/python');
  });

  test('tolerates empty PATH entries and trailing slashes', () => {
    assert.equal(findExecutable('aurelis', posix(['/opt/bin/aurelis'], '::/opt/bin/')), '/opt/bin/aurelis');
  });

  test('tries PATHEXT extensions on Windows', () => {
    const files = new Set(['C:\\Python312\\Scripts\\aurelis.EXE']);
    const lookup: PathLookup = {
      path: 'C:\\Windows;C:\\Python312\\Scripts',
      pathext: '.COM;.EXE',
      platform: 'win32',
      cwd: 'C:\\work',
      isExecutable: (f) => files.has(f),
    };
    assert.equal(findExecutable('aurelis', lookup), 'C:\\Python312\\Scripts\\aurelis.EXE');
  });
});

describe('notFoundMessage', () => {
  test('a missing aurelis command says how to install it', () => {
    const message = notFoundMessage(resolveServerExecutable({}, ctx));
    assert.match(message, /`aurelis` was not found/);
    assert.match(message, /pip install aurelis/);
    assert.match(message, /aurelis\.pythonPath/);
  });

  test('a missing interpreter names the pythonPath setting', () => {
    const message = notFoundMessage(resolveServerExecutable({ pythonPath: '/nope/python' }, ctx));
    assert.match(message, /Python interpreter `\/nope\/python` \(aurelis\.pythonPath\) was not found/);
  });
});

describe('startFailureMessage', () => {
  test('with pythonPath it suggests installing Aurelis into that interpreter', () => {
    const exe = resolveServerExecutable({ pythonPath: '/usr/bin/python3' }, ctx);
    const message = startFailureMessage(exe, new Error('Connection to server got closed'));
    assert.match(message, /could not start the language server \(\/usr\/bin\/python3 -m aurelis serve\)/);
    assert.match(message, /Connection to server got closed/);
    assert.match(message, /\/usr\/bin\/python3 -m pip install aurelis/);
  });

  test('otherwise it points at the output and the settings', () => {
    const exe = resolveServerExecutable({}, ctx);
    const message = startFailureMessage(exe, 'exited with code 2');
    assert.match(message, /\(aurelis serve\): exited with code 2/);
    assert.match(message, /Aurelis output/);
    assert.match(message, /aurelis\.server\.command/);
  });
});
