/**
 * A scripted stand-in for `aurelis serve`, used by the wiring test. It speaks real LSP
 * over stdio (vscode-jsonrpc) and appends every message it receives to the JSON-lines
 * file named by AURELIS_FAKE_SERVER_LOG, so the test can assert on what the client sent.
 *
 * Its answers follow the Aurelis contract: explain/analyze → {markdown}, the other
 * commands → {applied, message?}, plus `aurelis/status` notifications.
 */
import { appendFileSync } from 'node:fs';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node';

const logFile = process.env.AURELIS_FAKE_SERVER_LOG;
function record(kind: string, method: string, params: unknown): void {
  if (logFile) appendFileSync(logFile, JSON.stringify({ kind, method, params }) + '\n');
}

const SERVER_COMMANDS = [
  'aurelis.generate',
  'aurelis.document',
  'aurelis.refactor',
  'aurelis.optimize',
  'aurelis.addErrorHandling',
  'aurelis.generateTests',
  'aurelis.explain',
  'aurelis.analyze',
];

// Answered as TRUST_CONTRACT says: {trusted: [paths]} / {untrusted: [paths]}.
const TRUST_COMMANDS = ['aurelis.trustProject', 'aurelis.untrustProject'];
// Run by the editor when an inline item is accepted (the item names it, with its id).
const ACCEPT_SUGGESTION = 'aurelis.acceptSuggestion';

function folderPaths(args: unknown[] | undefined): string[] {
  return (args ?? []).map((a) => String((a as { uri?: string }).uri ?? '').replace(/^file:\/\//, ''));
}

const idle = {
  provider: 'local',
  endpoint: null,
  offline: true,
  busy: false,
  last_error: null,
  models: { 'gemma3-270m': { healthy: true, breaker: 'closed', rate_limit_remaining: null } },
};

// A server that cannot start: says why on stderr and exits, as a broken install would.
if (process.env.AURELIS_FAKE_SERVER_EXIT_AT_START) {
  record('argv', 'argv', process.argv.slice(2));
  process.stderr.write('Traceback (most recent call last):\n  File "aurelis", line 1\n');
  process.stderr.write('fake-aurelis: no usable configuration (exit at start)\n');
  process.exit(Number(process.env.AURELIS_FAKE_SERVER_EXIT_AT_START));
}

const connection = createMessageConnection(
  new StreamMessageReader(process.stdin),
  new StreamMessageWriter(process.stdout),
);

connection.onRequest('initialize', (params) => {
  record('request', 'initialize', params);
  record('argv', 'argv', process.argv.slice(2));
  record('cwd', 'cwd', process.cwd());
  return {
    capabilities: {
      textDocumentSync: 2,
      inlineCompletionProvider: {},
      codeActionProvider: true,
      executeCommandProvider: { commands: [...SERVER_COMMANDS, ...TRUST_COMMANDS, ACCEPT_SUGGESTION] },
    },
    serverInfo: { name: 'fake-aurelis', version: '0' },
  };
});

connection.onNotification('initialized', (params) => {
  record('notification', 'initialized', params);
  void connection.sendNotification('aurelis/status', idle);
  // Pull the settings as the real server does after initialized.
  void connection
    .sendRequest('workspace/configuration', { items: [{ section: 'aurelis' }] })
    .then((answer) => record('configuration', 'workspace/configuration', answer));
  // A server that crashes soon after it started (each time it is started again).
  if (process.env.AURELIS_FAKE_SERVER_CRASH_AFTER_INIT) {
    setTimeout(() => {
      process.stderr.write('fake-aurelis: crashed after start\n');
      process.exit(Number(process.env.AURELIS_FAKE_SERVER_CRASH_AFTER_INIT));
    }, 100);
  }
});

connection.onRequest('workspace/executeCommand', async (params: { command: string; arguments?: unknown[] }) => {
  record('request', 'workspace/executeCommand', params);
  const arg = (params.arguments?.[0] ?? {}) as { instruction?: string };
  switch (params.command) {
    case 'aurelis.explain':
      return { markdown: '# Explanation\n\nIt adds two numbers.' };
    case 'aurelis.analyze':
      await connection.sendNotification('aurelis/status', { ...idle, busy: true });
      await connection.sendNotification('aurelis/status', {
        ...idle,
        last_error: 'HTTP 410: the endpoint was retired; set aurelis.endpoint',
      });
      return { markdown: '- no issues' };
    case 'aurelis.generate':
      return { applied: false, message: `Nothing to generate for "${arg.instruction ?? ''}".` };
    case 'aurelis.optimize':
      throw new Error('No model is available');
    case 'aurelis.trustProject':
      return { trusted: folderPaths(params.arguments) };
    case 'aurelis.untrustProject':
      return { untrusted: folderPaths(params.arguments) };
    default:
      return { applied: true };
  }
});

connection.onRequest('textDocument/inlineCompletion', (params) => {
  record('request', 'textDocument/inlineCompletion', params);
  const accept = { title: 'Accept', command: ACCEPT_SUGGESTION, arguments: ['fake-item-1'] };
  return { items: [{ insertText: 'return a + b', command: accept }] };
});

connection.onRequest('shutdown', () => {
  record('request', 'shutdown', null);
  return null;
});

connection.onNotification('exit', () => {
  record('notification', 'exit', null);
  process.exit(0);
});

connection.onNotification((method, params) => record('notification', method, params));
connection.onRequest((method, params) => {
  record('request', method, params);
  return null;
});

connection.listen();
