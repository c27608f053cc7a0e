import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  expandPath,
  findExecutable,
  isInside,
  isPythonInterpreter,
  exitMessage,
  notFoundMessage,
  searchedPlaces,
  PathLookup,
  resolveServerExecutable,
  safeServerCwd,
  startFailureMessage,
  untrustedLaunchRefusal,
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

  test('pythonPath runs the module with -P: <python> -P -m aurelis serve', () => {
    const exe = resolveServerExecutable(
      { command: 'ignored', args: ['serve'], pythonPath: '/usr/bin/python3' },
      ctx,
    );
    assert.equal(exe.command, '/usr/bin/python3');
    assert.deepEqual(exe.args, ['-P', '-m', 'aurelis', 'serve']);
    assert.equal(exe.display, '/usr/bin/python3 -P -m aurelis serve');
  });

  test('pythonPath keeps custom server args after -P -m aurelis', () => {
    const exe = resolveServerExecutable({ args: ['serve', '--verbose'], pythonPath: 'python' }, ctx);
    assert.deepEqual(exe.args, ['-P', '-m', 'aurelis', 'serve', '--verbose']);
  });

  test('a server.command that is a Python interpreter gets -P too', () => {
    const exe = resolveServerExecutable(
      { command: '/opt/venv/bin/python3.12', args: ['-m', 'aurelis', 'serve'] },
      ctx,
    );
    assert.deepEqual(exe.args, ['-P', '-m', 'aurelis', 'serve']);
    const already = resolveServerExecutable({ command: 'python', args: ['-P', '-m', 'aurelis'] }, ctx);
    assert.deepEqual(already.args, ['-P', '-m', 'aurelis']);
  });

  test('the console script gets no -P', () => {
    assert.deepEqual(resolveServerExecutable({ command: '/opt/bin/aurelis' }, ctx).args, ['serve']);
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
    assert.equal(exe.display, '"/Users/Dev Name/venv/bin/python" -P -m aurelis serve');
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
    const message = notFoundMessage(
      resolveServerExecutable({}, ctx),
      searchedPlaces('aurelis', { path: '/usr/bin:/bin', platform: 'linux' }),
    );
    assert.match(message, /`aurelis` was not found on PATH \(\/usr\/bin:\/bin\)/);
    assert.match(message, /Remote settings/);
    assert.match(message, /pipx install \/path\/to\/aurelis/);
    assert.match(message, /pip install dist\/aurelis-\*\.whl/);
    assert.doesNotMatch(message, /pip install aurelis\b/);
    assert.match(message, /aurelis\.pythonPath/);
  });

  test('a missing interpreter names the pythonPath setting', () => {
    const message = notFoundMessage(
      resolveServerExecutable({ pythonPath: '/nope/python' }, ctx),
      searchedPlaces('/nope/python', { path: '/usr/bin', platform: 'linux' }),
    );
    assert.match(message, /Python interpreter `\/nope\/python` \(aurelis\.pythonPath\) was not found at \/nope\/python/);
  });
});

describe('startFailureMessage', () => {
  test('with pythonPath it suggests installing Aurelis into that interpreter', () => {
    const exe = resolveServerExecutable({ pythonPath: '/usr/bin/python3' }, ctx);
    const message = startFailureMessage(exe, new Error('Connection to server got closed'));
    assert.match(message, /could not start the language server \(\/usr\/bin\/python3 -P -m aurelis serve\)/);
    assert.match(message, /Connection to server got closed/);
    assert.match(message, /\/usr\/bin\/python3 -m pip install "\/path\/to\/aurelis\[local\]"/);
    assert.doesNotMatch(message, /pip install aurelis\b/);
  });

  test('otherwise it points at the output and the settings', () => {
    const exe = resolveServerExecutable({}, ctx);
    const message = startFailureMessage(exe, 'exited with code 2');
    assert.match(message, /\(aurelis serve\): exited with code 2/);
    assert.match(message, /Aurelis output/);
    assert.match(message, /aurelis\.server\.command/);
  });
});

describe('searchedPlaces', () => {
  test('lists at most eight PATH directories and counts the rest', () => {
    const path = Array.from({ length: 10 }, (_, i) => `/d${i}`).join(':');
    assert.equal(
      searchedPlaces('aurelis', { path, platform: 'linux' }),
      'on PATH (/d0:/d1:/d2:/d3:/d4:/d5:/d6:/d7, and 2 more)',
    );
    assert.equal(searchedPlaces('aurelis', { path: '', platform: 'linux' }), 'on PATH (PATH is empty)');
    assert.equal(searchedPlaces('C:\\a\\aurelis', { path: 'C:\\x', platform: 'win32' }), 'at C:\\a\\aurelis');
  });
});

describe('exitMessage', () => {
  test('says how it ended, when, and the last stderr lines', () => {
    const exe = resolveServerExecutable({ command: '/opt/aurelis' }, ctx);
    const message = exitMessage(exe, 'exited with code 3', true, ['a', 'b', 'c', 'boom: no config']);
    assert.match(message, /\(\/opt\/aurelis serve\) exited with code 3 as it started\./);
    assert.match(message, /Its stderr ended with: «b \| c \| boom: no config»\./);
    assert.doesNotMatch(message, /EPIPE/);
  });

  test('an empty stderr is said, not left blank', () => {
    const exe = resolveServerExecutable({}, ctx);
    assert.match(exitMessage(exe, 'was killed by SIGKILL', false, []), /wrote nothing on stderr/);
  });
});

describe('isPythonInterpreter', () => {
  test('recognises interpreters by their file name', () => {
    for (const name of ['python', 'python3', 'python3.12', '/venv/bin/python', 'C:\\Py\\python.exe']) {
      assert.equal(isPythonInterpreter(name), true, name);
    }
    for (const name of ['aurelis', '/opt/python/bin/aurelis', 'pythonic', 'ipython']) {
      assert.equal(isPythonInterpreter(name), false, name);
    }
  });
});

describe('safeServerCwd', () => {
  test('is the extension directory when no workspace folder contains it', () => {
    assert.equal(safeServerCwd('/home/dev/.vscode/extensions/aurelis', ['/work/project'], '/tmp'),
      '/home/dev/.vscode/extensions/aurelis');
  });

  test('is never a workspace folder: a workspace holding the extension gets the temp dir', () => {
    assert.equal(safeServerCwd('/work/project/editors/vscode', ['/work/project'], '/tmp'), '/tmp');
    assert.equal(safeServerCwd(undefined, ['/work/project'], '/tmp'), '/tmp');
  });

  test('isInside compares whole path segments', () => {
    assert.equal(isInside('/work/project', '/work/project/'), true);
    assert.equal(isInside('/work/project/a', '/work/project'), true);
    assert.equal(isInside('/work/project-other', '/work/project'), false);
    assert.equal(isInside('C:\\w\\p\\x', 'C:\\w\\p'), true);
  });
});

describe('untrustedLaunchRefusal', () => {
  const folders = ['/work/project'];

  test('refuses an interpreter inside the workspace', () => {
    const settings = { pythonPath: '${workspaceFolder}/.venv/bin/python' };
    const exe = resolveServerExecutable(settings, ctx);
    assert.match(untrustedLaunchRefusal(exe, settings, folders) ?? '', /inside the workspace/);
    const literal = { command: '/work/project/bin/aurelis' };
    assert.ok(untrustedLaunchRefusal(resolveServerExecutable(literal, ctx), literal, folders));
  });

  test('refuses ${workspaceFolder} even when there is no folder to expand it to', () => {
    const settings = { pythonPath: '${workspaceFolder}/.venv/bin/python' };
    const exe = resolveServerExecutable(settings, { homeDir: '/h' });
    assert.ok(untrustedLaunchRefusal(exe, settings, []));
  });

  test('allows an installation outside the workspace', () => {
    for (const settings of [{}, { pythonPath: '~/venvs/aurelis/bin/python' }, { command: '/opt/bin/aurelis' }]) {
      const exe = resolveServerExecutable(settings, ctx);
      assert.equal(untrustedLaunchRefusal(exe, settings, folders), undefined, JSON.stringify(settings));
    }
  });

  test('ignores server.command when pythonPath is what runs', () => {
    const settings = { command: '${workspaceFolder}/aurelis', pythonPath: '/usr/bin/python3' };
    const exe = resolveServerExecutable(settings, ctx);
    assert.equal(untrustedLaunchRefusal(exe, settings, folders), undefined);
  });
});
