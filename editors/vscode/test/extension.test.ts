/**
 * Wiring test: the real extension.ts and the real vscode-languageclient, running in a
 * stand-in VS Code host (harness/fakeVscode), talking real LSP over stdio to a scripted
 * server process (harness/fakeServer). Checks the contract end to end: what the client
 * advertises and sends, and what the user is shown for each answer.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Host, installFakeVscode, Position, Selection, Uri } from '../harness/fakeVscode';
import { RESTRICTED_MODE_MESSAGE } from '../src/trust';

const fakeServer = resolve(__dirname, '..', 'harness', 'fakeServer.js');
// Compiled to out/test/: the extension's own directory is two levels up.
const extensionDir = resolve(__dirname, '..', '..');

interface Logged {
  kind: string;
  method: string;
  params: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

type Extension = typeof import('../src/extension');

/** A log line the server finished writing (a read can catch one half-written). */
function isCompleteLine(line: string): boolean {
  if (line === '') return false;
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

describe('extension against a scripted server', () => {
  const host = new Host();
  const dir = mkdtempSync(join(tmpdir(), 'aurelis-vscode-wiring-'));
  const logFile = join(dir, 'server.jsonl');
  const workspace = join(dir, 'workspace');
  const context = {
    subscriptions: [] as Array<{ dispose(): unknown }>,
    extensionPath: extensionDir,
  };
  let uninstall: () => void;
  let ext: Extension;

  const log = (): Logged[] =>
    existsSync(logFile)
      ? readFileSync(logFile, 'utf8')
          .split('\n')
          .filter(isCompleteLine)
          .map((l) => JSON.parse(l) as Logged)
      : [];
  const sent = (method: string): Logged[] => log().filter((m) => m.method === method);
  const statusText = (): string => host.statusItems[0]?.text ?? '';
  const run = (id: string, ...args: unknown[]): Promise<unknown> => {
    const fn = host.commands.get(id);
    assert.ok(fn, `command ${id} is registered`);
    return Promise.resolve(fn(...args));
  };

  const document = {
    uri: Uri.parse('file:///w/app.py'),
    version: 3,
    languageId: 'python',
  };

  before(async () => {
    process.env.AURELIS_FAKE_SERVER_LOG = logFile;
    host.settings = {
      'aurelis.server.command': process.execPath,
      'aurelis.server.args': [fakeServer],
      'aurelis.endpoint': 'http://127.0.0.1:9/v1',
      'aurelis.provider': 'local',
      'aurelis.inlineCompletion.enabled': true,
      'aurelis.inlineCompletion.debounceMs': 0,
    };
    host.activeTextEditor = {
      document,
      selection: new Selection(new Position(1, 0), new Position(2, 4)),
    };
    mkdirSync(workspace);
    host.workspaceFolders = [{ uri: Uri.file(workspace), name: 'workspace', index: 0 }];
    uninstall = installFakeVscode(host);
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    ext = require('../src/extension') as Extension;
    await ext.activate(context as never);
    await waitFor('the first status notification', () => statusText().includes('Aurelis: local'));
  });

  after(async () => {
    await ext.deactivate();
    for (const d of context.subscriptions) d.dispose();
    uninstall();
    // The server logs `exit` as it goes; removing the directory before that races it.
    await waitFor('the server to exit', () => sent('exit').length === sent('initialize').length);
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });

  test('starts the configured command over stdio, with no extra arguments', () => {
    assert.equal(sent('initialize').length, 1);
    // vscode-languageclient appends `--stdio` when a transport is named; we must not.
    assert.deepEqual(log().find((m) => m.kind === 'argv')?.params, []);
    assert.equal(sent('initialized').length, 1);
  });

  test('advertises inline completion in the client capabilities', () => {
    const caps = sent('initialize')[0].params.capabilities;
    assert.ok(caps.textDocument.inlineCompletion, 'textDocument.inlineCompletion');
  });

  test('sends only the settings the user set, and the workspace trust, as initializationOptions', () => {
    // Nothing about provider defaults, cache or trace: the server's env and files decide those.
    assert.deepEqual(sent('initialize')[0].params.initializationOptions, {
      server: { command: process.execPath, args: [fakeServer] },
      endpoint: 'http://127.0.0.1:9/v1',
      provider: 'local',
      inlineCompletion: { enabled: true, debounceMs: 0 },
      workspaceTrusted: true,
    });
  });

  test('runs the server in the extension directory, not in the workspace folder', () => {
    const cwd = log().find((m) => m.kind === 'cwd')?.params;
    assert.equal(cwd, extensionDir);
    assert.notEqual(cwd, workspace);
  });

  test('Trust Project Settings sends aurelis.trustProject for the folder and shows the answer', async () => {
    await run('aurelis.client.trustProject');
    const call = sent('workspace/executeCommand').at(-1);
    assert.deepEqual(call?.params, {
      command: 'aurelis.trustProject',
      arguments: [{ uri: `file://${workspace}` }],
    });
    assert.deepEqual(host.messages.at(-1), {
      level: 'info',
      text: `Aurelis: trusted the project settings of ${workspace}.`,
    });
  });

  test('Untrust Project Settings sends aurelis.untrustProject', async () => {
    await run('aurelis.client.untrustProject');
    const call = sent('workspace/executeCommand').at(-1);
    assert.deepEqual(call?.params, {
      command: 'aurelis.untrustProject',
      arguments: [{ uri: `file://${workspace}` }],
    });
    assert.deepEqual(host.messages.at(-1), {
      level: 'info',
      text: `Aurelis: the project settings of ${workspace} are no longer trusted.`,
    });
  });

  test('with several folders the user picks one, or all of them (no arguments)', async () => {
    const saved = host.workspaceFolders;
    host.workspaceFolders = [
      { uri: Uri.file(workspace), name: 'workspace', index: 0 },
      { uri: Uri.file('/other/folder'), name: 'folder', index: 1 },
    ];
    try {
      host.quickPickAnswers = ['folder'];
      await run('aurelis.client.trustProject');
      assert.deepEqual(sent('workspace/executeCommand').at(-1)?.params.arguments, [
        { uri: 'file:///other/folder' },
      ]);
      host.quickPickAnswers = ['All workspace folders'];
      await run('aurelis.client.trustProject');
      assert.deepEqual(sent('workspace/executeCommand').at(-1)?.params.arguments, []);
      const before = sent('workspace/executeCommand').length;
      host.quickPickAnswers = [undefined];
      await run('aurelis.client.trustProject');
      assert.equal(sent('workspace/executeCommand').length, before, 'a dismissed pick sent a request');
    } finally {
      host.workspaceFolders = saved;
    }
  });

  test('answers the server\'s workspace/configuration pull with only the set settings', async () => {
    const answer = await waitFor('the configuration answer', () => log().find((m) => m.kind === 'configuration'));
    assert.deepEqual(answer.params, [
      {
        server: { command: process.execPath, args: [fakeServer] },
        endpoint: 'http://127.0.0.1:9/v1',
        provider: 'local',
        inlineCompletion: { enabled: true, debounceMs: 0 },
      },
    ]);
  });

  test('a changed setting is pushed with only the set settings, and removing one drops it', async () => {
    host.updateSettings({ 'aurelis.cache.enabled': false });
    const pushed = await waitFor('a didChangeConfiguration', () => sent('workspace/didChangeConfiguration').at(-1));
    assert.deepEqual(pushed.params.settings.aurelis.cache, { enabled: false });
    const before = sent('workspace/didChangeConfiguration').length;
    host.removeSettings(['aurelis.cache.enabled']);
    const after = await waitFor('a second push', () => sent('workspace/didChangeConfiguration')[before]);
    assert.equal(after.params.settings.aurelis.cache, undefined);
  });

  test('shows the provider from aurelis/status in the status bar', () => {
    assert.equal(statusText(), '$(sparkle) Aurelis: local');
    assert.match(host.statusItems[0].tooltip.value, /gemma3-270m/);
  });

  test('client commands and the auto-registered server commands live side by side', () => {
    for (const name of ['generate', 'explain', 'analyze']) {
      assert.ok(host.commands.has(`aurelis.${name}`), `aurelis.${name}`);
      assert.ok(host.commands.has(`aurelis.client.${name}`), `aurelis.client.${name}`);
    }
  });

  test('generate asks for an instruction and sends one argument object', async () => {
    host.inputBoxAnswers = ['  add type hints '];
    await run('aurelis.client.generate');
    const call = sent('workspace/executeCommand').at(-1);
    assert.deepEqual(call?.params, {
      command: 'aurelis.generate',
      arguments: [
        {
          uri: 'file:///w/app.py',
          version: 3,
          position: { line: 2, character: 4 },
          range: { start: { line: 1, character: 0 }, end: { line: 2, character: 4 } },
          instruction: 'add type hints',
        },
      ],
    });
    assert.deepEqual(host.messages.at(-1), {
      level: 'info',
      text: 'Nothing to generate for "add type hints".',
    });
  });

  test('cancelling the instruction prompt sends nothing', async () => {
    const before = sent('workspace/executeCommand').length;
    host.inputBoxAnswers = [undefined];
    await run('aurelis.client.generate');
    assert.equal(sent('workspace/executeCommand').length, before);
  });

  test('explain shows the rendered markdown in the "Aurelis: Explanation" panel', async () => {
    await run('aurelis.client.explain');
    const panel = host.panels.at(-1);
    assert.ok(panel);
    assert.equal(panel.title, 'Aurelis: Explanation');
    assert.match(panel.html, /<div class="rendered"># Explanation\n\nIt adds two numbers.<\/div>/);
    assert.match(panel.html, /Content-Security-Policy/);
  });

  test('a server command run with arguments (as from a code action) shows its result', async () => {
    const args = { uri: 'file:///w/app.py', version: 3, position: { line: 0, character: 0 } };
    await run('aurelis.analyze', args);
    const call = sent('workspace/executeCommand').at(-1);
    assert.deepEqual(call?.params, { command: 'aurelis.analyze', arguments: [args] });
    const panel = host.panels.at(-1);
    assert.equal(panel?.title, 'Aurelis: Analysis');
    assert.match(panel?.html ?? '', /- no issues/);
  });

  test('a server command invoked without arguments gets them from the active editor', async () => {
    await run('aurelis.document');
    const call = sent('workspace/executeCommand').at(-1);
    assert.deepEqual(call?.params, {
      command: 'aurelis.document',
      arguments: [
        {
          uri: 'file:///w/app.py',
          version: 3,
          position: { line: 2, character: 4 },
          range: { start: { line: 1, character: 0 }, end: { line: 2, character: 4 } },
        },
      ],
    });
  });

  test('a status with last_error turns the item into a warning with the error', async () => {
    await waitFor('the warning status', () => statusText() === '$(warning) Aurelis');
    assert.match(host.statusItems[0].tooltip.value, /HTTP 410/);
  });

  test('a failed command is shown as an error with the server message', async () => {
    await run('aurelis.client.optimize');
    const last = host.messages.at(-1);
    assert.equal(last?.level, 'error');
    assert.match(last?.text ?? '', /Aurelis: Optimize failed: .*No model is available/);
  });

  test('an applied result with no message shows nothing', async () => {
    const before = host.messages.length;
    await run('aurelis.client.document');
    assert.equal(sent('workspace/executeCommand').at(-1)?.params.command, 'aurelis.document');
    assert.equal(host.messages.length, before);
  });

  test('inline completions are forwarded as textDocument/inlineCompletion', async () => {
    const { provider } = await waitFor('the inline provider', () => host.inlineProviders[0]);
    const token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) };
    const result = await provider.provideInlineCompletionItems(
      document,
      new Position(2, 4),
      { triggerKind: 1, selectedCompletionInfo: undefined },
      token,
    );
    const items = Array.isArray(result) ? result : result.items;
    assert.equal(items[0].insertText, 'return a + b');
    const request = sent('textDocument/inlineCompletion').at(-1);
    assert.deepEqual(request?.params.position, { line: 2, character: 4 });
    assert.equal(request?.params.textDocument.uri, 'file:///w/app.py');
  });

  test('inline items report shown and partial accepts, and accepting runs their command', async () => {
    const { provider } = await waitFor('the inline provider', () => host.inlineProviders[0]);
    const token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) };
    const result = await provider.provideInlineCompletionItems(
      document,
      new Position(2, 4),
      { triggerKind: 0, selectedCompletionInfo: undefined },
      token,
    );
    const [item] = Array.isArray(result) ? result : result.items;
    provider.handleDidShowCompletionItem(item, item.insertText);
    provider.handleDidPartiallyAcceptCompletionItem(item, 6);
    // What VS Code does on Tab: run the item's command (registered from the server's list).
    await run(item.command.command, ...item.command.arguments);

    await waitFor('the partial accept', () => sent('aurelis/didPartiallyAcceptCompletion').length > 0);
    assert.deepEqual(
      sent('aurelis/didShowCompletion').map((m) => m.params),
      [{ id: 'fake-item-1' }],
      'shown once, though both the hand-over and the show hook saw it',
    );
    assert.deepEqual(sent('aurelis/didPartiallyAcceptCompletion').at(-1)?.params, {
      id: 'fake-item-1',
      acceptedLength: 6,
    });
    const accept = sent('workspace/executeCommand').at(-1)?.params;
    assert.deepEqual(accept, { command: 'aurelis.acceptSuggestion', arguments: ['fake-item-1'] });
  });

  test('with inline completion disabled nothing is requested', async () => {
    const { provider } = host.inlineProviders[0];
    const before = sent('textDocument/inlineCompletion').length;
    host.settings['aurelis.inlineCompletion.enabled'] = false;
    try {
      const token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) };
      const result = await provider.provideInlineCompletionItems(
        document,
        new Position(2, 4),
        { triggerKind: 1, selectedCompletionInfo: undefined },
        token,
      );
      assert.equal(result, null);
      assert.equal(sent('textDocument/inlineCompletion').length, before);
    } finally {
      host.settings['aurelis.inlineCompletion.enabled'] = true;
    }
  });

  test('an automatic request cancelled during the debounce is never sent', async () => {
    const { provider } = host.inlineProviders[0];
    const before = sent('textDocument/inlineCompletion').length;
    host.settings['aurelis.inlineCompletion.debounceMs'] = 300;
    try {
      const listeners: Array<() => void> = [];
      const token = {
        isCancellationRequested: false,
        onCancellationRequested: (l: () => void) => {
          listeners.push(l);
          return { dispose() {} };
        },
      };
      const pending = provider.provideInlineCompletionItems(
        document,
        new Position(2, 4),
        { triggerKind: 1, selectedCompletionInfo: undefined },
        token,
      );
      setTimeout(() => {
        token.isCancellationRequested = true;
        listeners.forEach((l) => l());
      }, 20);
      assert.equal(await pending, null);
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(sent('textDocument/inlineCompletion').length, before);
    } finally {
      host.settings['aurelis.inlineCompletion.debounceMs'] = 0;
    }
  });

  test('changing the server settings restarts the server', async () => {
    host.updateSettings({ 'aurelis.server.args': [fakeServer, '--restarted'] });
    await waitFor('a second initialize', () => sent('initialize').length === 2);
    const methods = log().map((m) => m.method);
    const shutdownAt = methods.indexOf('shutdown');
    assert.ok(shutdownAt >= 0 && shutdownAt < methods.lastIndexOf('initialize'));
    await waitFor('status after restart', () => statusText() === '$(sparkle) Aurelis: local');
  });
});

/** Activate a fresh copy of the extension in its own host, for the start-failure cases. */
function freshActivation(settings: Record<string, unknown>, prepare?: (host: Host) => void) {
  const host = new Host();
  prepare?.(host);
  const context = { subscriptions: [] as Array<{ dispose(): unknown }> };
  let uninstall: () => void = () => undefined;
  let ext: Extension | undefined;
  return {
    host,
    async start(): Promise<void> {
      host.settings = settings;
      uninstall = installFakeVscode(host);
      for (const key of Object.keys(require.cache)) {
        if (key.includes(join('out', 'src')) || key.includes('vscode-languageclient')) {
          delete require.cache[key];
        }
      }
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      ext = require('../src/extension') as Extension;
      await ext.activate(context as never);
    },
    async stop(): Promise<void> {
      await ext?.deactivate();
      for (const d of context.subscriptions) d.dispose();
      uninstall();
    },
  };
}

describe('extension with a server that is not installed', () => {
  const run = freshActivation({ 'aurelis.server.command': '/nonexistent/bin/aurelis' });
  before(() => run.start());
  after(() => run.stop());

  test('shows one error that says how to install the server', async () => {
    const error = await waitFor('the error', () => run.host.messages.find((m) => m.level === 'error'));
    assert.match(error.text, /`\/nonexistent\/bin\/aurelis` was not found/);
    // There is no `aurelis` on PyPI: the message names an install that works.
    assert.match(error.text, /pipx install \/path\/to\/aurelis/);
    assert.doesNotMatch(error.text, /pip install aurelis\b/);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(run.host.messages.filter((m) => m.level === 'error').length, 1);
  });

  test('shows the server as stopped in the status bar', async () => {
    await waitFor('stopped status', () => run.host.statusItems[0]?.text === '$(circle-slash) Aurelis');
    assert.equal(run.host.statusItems[0].backgroundColor?.id, 'statusBarItem.errorBackground');
  });

  test('a command tries to start the server again and says once why it cannot', async () => {
    run.host.activeTextEditor = {
      document: { uri: Uri.parse('file:///w/a.py'), version: 1, languageId: 'python' },
      selection: new Selection(new Position(0, 0), new Position(0, 0)),
    };
    const before = run.host.messages.length;
    await run.host.commands.get('aurelis.client.explain')?.();
    const shown = run.host.messages.slice(before);
    assert.equal(shown.length, 1);
    assert.match(shown[0].text, /was not found/);
  });
});

describe('extension with aurelis.pythonPath', { skip: process.platform === 'win32' }, () => {
  // A stand-in "python" that runs the scripted server, so the test sees the argv it gets.
  const dir = mkdtempSync(join(tmpdir(), 'aurelis-vscode-python-'));
  const python = join(dir, 'python');
  const logFile = join(dir, 'server.jsonl');
  writeFileSync(python, `#!/bin/sh\nexec "${process.execPath}" "${fakeServer}" "$@"\n`);
  chmodSync(python, 0o755);
  const run = freshActivation({
    'aurelis.pythonPath': python,
    'aurelis.server.command': '/nonexistent/ignored-when-pythonPath-is-set',
  });
  before(async () => {
    process.env.AURELIS_FAKE_SERVER_LOG = logFile;
    await run.start();
  });
  after(async () => {
    await run.stop();
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });

  test('starts `<python> -P -m aurelis serve`', async () => {
    const argv = await waitFor('the server argv', () => {
      if (!existsSync(logFile)) return undefined;
      const entry = readFileSync(logFile, 'utf8')
        .split('\n')
        .filter(isCompleteLine)
        .map((l) => JSON.parse(l) as Logged)
        .find((m) => m.kind === 'argv');
      return entry?.params as string[] | undefined;
    });
    assert.deepEqual(argv, ['-P', '-m', 'aurelis', 'serve']);
    await waitFor('running status', () => run.host.statusItems[0]?.text === '$(sparkle) Aurelis: local');
  });
});

function readLogFile(file: string): Logged[] {
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(isCompleteLine)
        .map((l) => JSON.parse(l) as Logged)
    : [];
}

describe('extension in a workspace VS Code does not trust (restricted mode)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aurelis-vscode-restricted-'));
  const logFile = join(dir, 'server.jsonl');
  const run = freshActivation(
    { 'aurelis.server.command': process.execPath, 'aurelis.server.args': [fakeServer] },
    (host) => {
      host.trusted = false;
      host.workspaceFolders = [{ uri: Uri.file(dir), name: 'hostile', index: 0 }];
    },
  );
  const sent = (method: string): Logged[] => readLogFile(logFile).filter((m) => m.method === method);
  before(async () => {
    process.env.AURELIS_FAKE_SERVER_LOG = logFile;
    await run.start();
  });
  after(async () => {
    await run.stop();
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });

  test('tells the server the workspace is not trusted', async () => {
    const init = await waitFor('initialize', () => sent('initialize')[0]);
    assert.equal(init.params.initializationOptions.workspaceTrusted, false);
  });

  test('Trust Project Settings refuses with a warning and sends nothing', async () => {
    await waitFor('running status', () => run.host.statusItems[0]?.text === '$(sparkle) Aurelis: local');
    await run.host.commands.get('aurelis.client.trustProject')?.();
    assert.deepEqual(run.host.messages.at(-1), { level: 'warning', text: RESTRICTED_MODE_MESSAGE });
    assert.equal(sent('workspace/executeCommand').length, 0);
  });

  test('granting Workspace Trust restarts the server, now told it is trusted', async () => {
    run.host.grantTrust();
    const second = await waitFor('a second initialize', () => sent('initialize')[1]);
    assert.equal(second.params.initializationOptions.workspaceTrusted, true);
    assert.ok(sent('shutdown').length >= 1, 'the first server was not shut down');
  });
});

describe('restricted mode and an interpreter inside the workspace', { skip: process.platform === 'win32' }, () => {
  // A repository that ships `.venv/bin/python`, and a user whose pythonPath points there.
  const dir = mkdtempSync(join(tmpdir(), 'aurelis-vscode-venv-'));
  const ran = join(dir, 'ran');
  mkdirSync(join(dir, '.venv', 'bin'), { recursive: true });
  const python = join(dir, '.venv', 'bin', 'python');
  writeFileSync(python, `#!/bin/sh\ntouch "${ran}"\nexec "${process.execPath}" "${fakeServer}" "$@"\n`);
  chmodSync(python, 0o755);
  const run = freshActivation({ 'aurelis.pythonPath': '${workspaceFolder}/.venv/bin/python' }, (host) => {
    host.trusted = false;
    host.workspaceFolders = [{ uri: Uri.file(dir), name: 'hostile', index: 0 }];
  });
  before(() => run.start());
  after(async () => {
    await run.stop();
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });

  test('does not run it, and says why', async () => {
    const error = await waitFor('the error', () => run.host.messages.find((m) => m.level === 'error'));
    assert.match(error.text, /not starting `.*\/\.venv\/bin\/python`: it is inside the workspace/);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(existsSync(ran), false, 'the workspace interpreter was run');
  });
});

/** The scripted server in a failure mode (an AURELIS_FAKE_SERVER_* variable), for one suite. */
function failingServer(mode: string, value: string) {
  const dir = mkdtempSync(join(tmpdir(), 'aurelis-vscode-failing-'));
  const logFile = join(dir, 'server.jsonl');
  const run = freshActivation({ 'aurelis.server.command': process.execPath, 'aurelis.server.args': [fakeServer] });
  before(async () => {
    process.env.AURELIS_FAKE_SERVER_LOG = logFile;
    process.env[mode] = value;
    await run.start();
  });
  after(async () => {
    delete process.env[mode];
    await run.stop();
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });
  return { run, logFile };
}

describe('extension with a server that exits as it starts', () => {
  const { run, logFile } = failingServer('AURELIS_FAKE_SERVER_EXIT_AT_START', '3');

  test('shows one message with the exit code and the last stderr lines, and starts it once', async () => {
    const error = await waitFor('the error', () => run.host.messages.find((m) => m.level === 'error'));
    assert.match(error.text, /exited with code 3 as it started/);
    assert.match(error.text, /fake-aurelis: no usable configuration \(exit at start\)/);
    assert.doesNotMatch(error.text, /EPIPE/);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(run.host.messages.filter((m) => m.level === 'error').length, 1);
    assert.equal(readLogFile(logFile).filter((m) => m.kind === 'argv').length, 1, 'it was restarted');
  });

  test('the status item is stopped and its tooltip says why', async () => {
    await waitFor('stopped status', () => run.host.statusItems[0]?.text === '$(circle-slash) Aurelis');
    assert.match(run.host.statusItems[0].tooltip.value, /exited with code 3/);
  });

  test('the stderr reached the output channel', () => {
    assert.ok(run.host.outputLines.some((line) => line.includes('no usable configuration')));
  });
});

describe('extension with a server that keeps crashing after it started', () => {
  const { run, logFile } = failingServer('AURELIS_FAKE_SERVER_CRASH_AFTER_INIT', '7');

  test('is restarted three times, then one message says it kept stopping', async () => {
    const error = await waitFor(
      'the error',
      () => run.host.messages.find((m) => m.level === 'error'),
      20_000,
    );
    assert.match(error.text, /exited with code 7 and was not restarted \(it kept stopping\)/);
    assert.match(error.text, /crashed after start/);
    assert.equal(readLogFile(logFile).filter((m) => m.method === 'initialize').length, 4);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(run.host.messages.filter((m) => m.level === 'error').length, 1);
    assert.equal(run.host.statusItems[0]?.text, '$(circle-slash) Aurelis');
  });
});
