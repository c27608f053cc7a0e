/**
 * The language server's lifecycle: checks before starting (installed? allowed in this
 * workspace?), the language client, settings sent to the server, and what happens when the
 * server dies. A server that dies while starting is reported once, with its exit code and
 * the last lines of its stderr; one that dies later is restarted a bounded number of times.
 * The language client never restarts on its own, so it shows no pop-ups of its own.
 */

import * as fs from 'fs';
import * as os from 'os';
import * as vscode from 'vscode';
import {
  CloseAction,
  DidChangeConfigurationNotification,
  ErrorAction,
  ErrorHandler,
  LanguageClient,
  LanguageClientOptions,
  Middleware,
  RevealOutputChannelOn,
  State,
} from 'vscode-languageclient/node';

import { debounceDelay, waitUnlessCancelled } from './inline';
import { documentSelector } from './languages';
import {
  exitMessage,
  findExecutable,
  notFoundMessage,
  resolveServerExecutable,
  safeServerCwd,
  searchedPlaces,
  ServerExecutable,
  ServerSettings,
  startFailureMessage,
  untrustedLaunchRefusal,
} from './serverOptions';
import { describeExit, launchServer, RestartBudget, ServerProcess } from './serverProcess';
import { SECTION, userSettings } from './settings';
import { StatusItem } from './statusItem';
import { installSuggestionOutcomes, SuggestionOutcomes } from './suggestionOutcomes';

const STATUS_NOTIFICATION = 'aurelis/status';
/** How long a failed start waits for the process to exit, to report its exit code. */
const EXIT_GRACE_MS = 2000;

export function workspaceFolderPaths(): string[] {
  return (vscode.workspace.workspaceFolders ?? []).map((folder) => folder.uri.fsPath);
}

/** The `aurelis.*` settings the user set (the server's env and files decide the rest). */
export function currentUserSettings(scope?: vscode.Uri): Record<string, unknown> {
  const cfg = vscode.workspace.getConfiguration(SECTION, scope);
  return userSettings(
    (key) => cfg.get(key),
    (key) => cfg.inspect(key),
  );
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, process.platform === 'win32' ? fs.constants.F_OK : fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The language client, minus its own pop-ups and its unhandled rejections: a failed start
 * makes vscode-languageclient force a notification ("couldn't create connection") and call
 * stop() on a client still starting, which throws where nobody catches it. This extension
 * says once, itself, what went wrong; the client's own lines still reach the output.
 */
class AurelisLanguageClient extends LanguageClient {
  override error(message: string, data?: unknown, showNotification?: boolean | 'force'): void {
    super.error(message, data, showNotification === 'force' ? false : showNotification);
  }

  override async stop(timeout?: number): Promise<void> {
    try {
      await super.stop(timeout);
    } catch (error) {
      // Not running (start failed or still starting): nothing to stop; the process is ours.
      if (this.isRunning()) throw error;
    }
  }
}

/**
 * `client.start()`, rejecting whenever the client is not running afterwards. When the server
 * dies during initialize, vscode-languageclient 9 resolves `start()` anyway and leaves its
 * internal start promise rejected with no handler (an unhandled rejection in the extension
 * host); that promise exists from the synchronous part of `start()` on, so it is caught here.
 */
async function startQuietly(client: LanguageClient): Promise<void> {
  const started = client.start();
  (client as unknown as { _onStart?: Promise<void> })._onStart?.catch(() => undefined);
  await started;
  if (!client.isRunning()) throw new Error(`the client is ${State[client.state]}`);
}

export class AurelisServer implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<boolean> | undefined;
  private restarting: Promise<void> = Promise.resolve();
  private process: ServerProcess | undefined;
  private exe: ServerExecutable | undefined;
  /** Whether the current client's server answered initialize (it "ran"). */
  private ran = false;
  /** Reports what became of the current client's inline suggestions. */
  private outcomes: SuggestionOutcomes | undefined;
  private readonly budget = new RestartBudget();

  constructor(
    private readonly extensionDir: string | undefined,
    private readonly output: vscode.OutputChannel,
    private readonly status: StatusItem,
    private readonly commandMiddleware: Middleware['executeCommand'],
  ) {}

  start(): Promise<boolean> {
    if (this.starting === undefined) this.starting = this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<boolean> {
    const exe = this.serverExecutable();
    const cwd = safeServerCwd(this.extensionDir, workspaceFolderPaths(), os.tmpdir());
    this.output.appendLine(`[client] starting the Aurelis server: ${exe.display} (in ${cwd})`);
    this.status.setClientState('starting');
    const refusal = this.preflight(exe);
    if (refusal !== undefined) {
      this.fail(refusal);
      return false;
    }
    const client = this.createClient(exe, cwd);
    this.client = client;
    this.exe = exe;
    this.ran = false;
    try {
      await startQuietly(client);
      this.ran = true;
      return true;
    } catch (error) {
      if (client === this.client) this.fail(await this.failureMessage(exe, error, true));
      const launched = this.process;
      if (launched !== undefined && launched.exited() === undefined) launched.child.kill();
      return false;
    }
  }

  /** Why the server must not or cannot be started, or undefined. */
  private preflight(exe: ServerExecutable): string | undefined {
    if (!vscode.workspace.isTrusted) {
      const refusal = untrustedLaunchRefusal(exe, this.serverSettings(), workspaceFolderPaths());
      if (refusal !== undefined) return refusal;
    }
    const path = process.env.PATH ?? process.env.Path;
    const found = findExecutable(exe.command, {
      path,
      pathext: process.env.PATHEXT,
      platform: process.platform,
      cwd: safeServerCwd(this.extensionDir, workspaceFolderPaths(), os.tmpdir()),
      isExecutable,
    });
    if (found !== undefined) return undefined;
    return notFoundMessage(exe, searchedPlaces(exe.command, { path, platform: process.platform }));
  }

  /** The message for a server that could not start or died: its exit, else the error. */
  private async failureMessage(exe: ServerExecutable, error: unknown, atStart: boolean): Promise<string> {
    const launched = this.process;
    const exit =
      launched === undefined
        ? undefined
        : await Promise.race([launched.exit, new Promise<undefined>((r) => setTimeout(() => r(undefined), EXIT_GRACE_MS))]);
    if (launched === undefined || exit === undefined) return startFailureMessage(exe, error);
    return exitMessage(exe, describeExit(exit), atStart, launched.tail.lines());
  }

  /** Stopped for good (until the user acts): one message, with a way to the output. */
  private fail(message: string): void {
    this.status.setClientState('stopped', message);
    this.output.appendLine(`[client] ${message}`);
    void vscode.window.showErrorMessage(message, 'Show Output', 'Open Settings').then((choice) => {
      if (choice === 'Open Settings') {
        void vscode.commands.executeCommand('workbench.action.openSettings', '@ext:aurelis.aurelis');
      } else if (choice === 'Show Output') {
        this.output.show(true);
      }
    });
  }

  async stop(): Promise<void> {
    const { client, starting, process: launched } = this;
    this.client = undefined;
    this.starting = undefined;
    this.process = undefined;
    // A client still starting refuses to stop ("Client is not running"); let it finish.
    if (starting !== undefined) await starting;
    if (client !== undefined && client.isRunning()) {
      try {
        await client.stop();
      } catch (error) {
        this.output.appendLine(`[client] stopping the server failed: ${String(error)}`);
      }
    }
    if (launched === undefined) return;
    // After `exit` the server leaves by itself; one that does not is ended.
    const gone = await Promise.race([
      launched.exit.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), EXIT_GRACE_MS)),
    ]);
    if (!gone) launched.child.kill();
  }

  /** Restarts run one after another, however fast the settings change. */
  restart(): Promise<void> {
    this.restarting = this.restarting.then(async () => {
      await this.stop();
      await this.start();
    });
    return this.restarting;
  }

  /** The user asked (a command, a settings change): the crash budget starts afresh. */
  restartByUser(): Promise<void> {
    this.budget.reset();
    return this.restart();
  }

  /** A running client for a command, starting (or restarting) the server if needed. */
  async ready(): Promise<LanguageClient | undefined> {
    // After a failure the server stays down; a command is a good moment to try again
    // (the user may have fixed the install meanwhile).
    if (this.status.state === 'stopped') await this.restartByUser();
    // A failed start has already told the user why.
    if (!(await this.start())) return undefined;
    const client = this.client;
    if (client !== undefined && client.isRunning()) return client;
    void vscode.window.showErrorMessage(
      'Aurelis: the language server is not running. See the Aurelis output for why.',
    );
    return undefined;
  }

  /** Push the user's settings (only those set) to a running server. */
  settingsChanged(): void {
    const client = this.client;
    if (client === undefined || !client.isRunning()) return;
    void client
      .sendNotification(DidChangeConfigurationNotification.type, {
        settings: { [SECTION]: currentUserSettings() },
      })
      .catch((error: unknown) => this.output.appendLine(`[client] settings not sent: ${String(error)}`));
  }

  private serverSettings(): ServerSettings {
    const cfg = vscode.workspace.getConfiguration(SECTION);
    return { command: cfg.get('server.command'), args: cfg.get('server.args'), pythonPath: cfg.get('pythonPath') };
  }

  private serverExecutable(): ServerExecutable {
    return resolveServerExecutable(this.serverSettings(), {
      homeDir: os.homedir(),
      workspaceFolder: workspaceFolderPaths()[0],
    });
  }

  private createClient(exe: ServerExecutable, cwd: string): LanguageClient {
    // Spawned here so its exit code and stderr are known; the client still talks over
    // stdin/stdout and runs exactly the configured command line (no `--stdio` appended).
    // Handed over as streams: the client neither kills it nor logs its stderr (we do both).
    const serverOptions = async () => {
      const launched = launchServer(exe.command, exe.args, cwd);
      this.process = launched;
      launched.child.stderr?.on('data', (chunk: string) => this.output.append(chunk));
      return { reader: launched.child.stdout as NodeJS.ReadableStream, writer: launched.input };
    };
    const client = new AurelisLanguageClient('aurelis', 'Aurelis', serverOptions, this.clientOptions());
    // textDocument/inlineCompletion is a "proposed" (LSP 3.18) feature in
    // vscode-languageclient 9: without this the client neither advertises the capability
    // nor registers the provider.
    this.outcomes = new SuggestionOutcomes((method, params) => client.sendNotification(method, params));
    installSuggestionOutcomes(vscode.languages as never, this.outcomes); // the client's provider reports
    client.registerProposedFeatures();
    client.onNotification(STATUS_NOTIFICATION, (raw: unknown) => this.status.onServerStatus(raw));
    client.onDidChangeState((event) => {
      if (client !== this.client) return;
      if (event.newState === State.Running) this.status.setClientState('running');
      else if (event.newState === State.Starting) this.status.setClientState('starting');
    });
    return client;
  }

  private clientOptions(): LanguageClientOptions {
    return {
      documentSelector: documentSelector(),
      outputChannel: this.output,
      traceOutputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: () => ({
        ...currentUserSettings(),
        // Restricted mode: the server honours no sensitive project setting at all.
        workspaceTrusted: vscode.workspace.isTrusted,
      }),
      initializationFailedHandler: () => false,
      errorHandler: this.errorHandler(),
      middleware: this.middleware(),
    };
  }

  private errorHandler(): ErrorHandler {
    return {
      // A broken pipe means the process is going: `closed` decides what to do then.
      error: () => ({ action: ErrorAction.Continue, handled: true }),
      closed: () => {
        void this.onClosed(this.client);
        return { action: CloseAction.DoNotRestart, handled: true };
      },
    };
  }

  private async onClosed(client: LanguageClient | undefined): Promise<void> {
    const exe = this.exe;
    // Died while starting: start() reports it. Stopped by us: nothing to say.
    if (client === undefined || client !== this.client || !this.ran || exe === undefined) return;
    if (this.budget.take(Date.now())) {
      const exit = this.process?.exited();
      this.output.appendLine(
        `[client] the server ${exit ? describeExit(exit) : 'stopped'}; restarting it ` +
          `(at most ${this.budget.max} times in ${this.budget.windowMs / 60_000} minutes)`,
      );
      await this.restart();
      return;
    }
    this.fail(await this.failureMessage(exe, 'the server stopped', false));
    this.client = undefined;
    this.starting = undefined;
  }

  private middleware(): Middleware {
    return {
      executeCommand: this.commandMiddleware,
      provideInlineCompletionItems: async (document, position, context, token, next) => {
        const cfg = vscode.workspace.getConfiguration(SECTION, document);
        if (cfg.get<boolean>('inlineCompletion.enabled', true) === false) return null;
        const delay = debounceDelay(context.triggerKind, cfg.get('inlineCompletion.debounceMs'));
        if (!(await waitUnlessCancelled(delay, token))) return null;
        const result = await next(document, position, context, token);
        return this.outcomes === undefined ? result : this.outcomes.delivered(result);
      },
      workspace: {
        // The server pulls section "aurelis": answer with what the user set, no defaults.
        configuration: async (params, token, next) => {
          const answers = await next(params, token);
          if (!Array.isArray(answers)) return answers;
          return params.items.map((item, i) =>
            item.section === SECTION ? currentUserSettings(scopeOf(item.scopeUri)) : answers[i],
          );
        },
      },
    };
  }

  dispose(): void {
    void this.stop();
  }
}

function scopeOf(uri: string | undefined): vscode.Uri | undefined {
  return uri === undefined ? undefined : vscode.Uri.parse(uri);
}
