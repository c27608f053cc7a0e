/**
 * The language client's lifecycle: find and start the configured server, stop it, restart
 * it (one restart at a time) when its settings change or the workspace becomes trusted, and
 * hand the running client to the commands that need it.
 */

import * as fs from 'fs';
import * as os from 'os';
import * as vscode from 'vscode';
import {
  LanguageClient,
  LanguageClientOptions,
  Middleware,
  RevealOutputChannelOn,
  ServerOptions,
  State,
} from 'vscode-languageclient/node';

import { specForServerCommand } from './commands';
import { argumentsFromEditor } from './editorCommands';
import { debounceDelay, waitUnlessCancelled } from './inline';
import { documentSelector } from './languages';
import { presentResult } from './results';
import { ResultsPanel } from './resultsPanel';
import {
  findExecutable,
  notFoundMessage,
  RESTART_KEYS,
  resolveServerExecutable,
  safeServerCwd,
  ServerExecutable,
  ServerSettings,
  startFailureMessage,
  untrustedLaunchRefusal,
} from './serverOptions';
import { SECTION, settingsSnapshot } from './settings';
import { parseStatusParams } from './status';
import { StatusItem } from './statusItem';
import { installSuggestionOutcomes, SuggestionOutcomes } from './suggestionOutcomes';

const STATUS_NOTIFICATION = 'aurelis/status';

/** A running client, or why there is none (`told`: the user already knows). */
export type Running = { client: LanguageClient } | { client: undefined; told: boolean };

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SECTION);
}

function workspaceFolderPaths(): string[] {
  return (vscode.workspace.workspaceFolders ?? []).map((folder) => folder.uri.fsPath);
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, process.platform === 'win32' ? fs.constants.F_OK : fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export class ServerClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<boolean> | undefined;
  private restarting: Promise<void> = Promise.resolve();
  /** Reports what became of the current client's inline suggestions (shown, accepted). */
  private outcomes: SuggestionOutcomes | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly extensionDir: string | undefined,
    private readonly output: vscode.OutputChannel,
    private readonly status: StatusItem,
    private readonly results: ResultsPanel,
  ) {
    this.disposables.push(
      // Restricted mode told the server to ignore project settings; now they may count.
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        this.output.appendLine('[client] the workspace is now trusted; restarting the server');
        void this.restart();
      }),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (RESTART_KEYS.some((key) => event.affectsConfiguration(`${SECTION}.${key}`))) {
          this.output.appendLine('[client] server settings changed; restarting the server');
          void this.restart();
        }
      }),
    );
  }

  start(): Promise<boolean> {
    if (this.starting === undefined) {
      this.starting = this.doStart();
    }
    return this.starting;
  }

  async stop(): Promise<void> {
    const client = this.client;
    const starting = this.starting;
    this.client = undefined;
    this.starting = undefined;
    // A client still starting refuses to stop ("Client is not running"); let it finish.
    if (starting !== undefined) await starting;
    if (client !== undefined) {
      try {
        await client.stop();
      } catch (error) {
        this.output.appendLine(`[client] stopping the server failed: ${String(error)}`);
      }
    }
  }

  /** Restarts run one after another, however fast the settings change. */
  restart(): Promise<void> {
    this.restarting = this.restarting.then(async () => {
      await this.stop();
      this.status.setServerStatus(undefined);
      await this.start();
    });
    return this.restarting;
  }

  /** The running client, starting the server first if needed. */
  async running(): Promise<Running> {
    // After a crash the client gives up and stays stopped; a command is a good moment
    // to try again (the user may have fixed the install meanwhile).
    if (this.status.clientState === 'stopped') await this.restart();
    // A failed start has already told the user why.
    if (!(await this.start())) return { client: undefined, told: true };
    const client = this.client;
    if (client === undefined || !client.isRunning()) return { client: undefined, told: false };
    return { client };
  }

  private async doStart(): Promise<boolean> {
    const settings = this.serverSettings();
    const exe = resolveServerExecutable(settings, {
      homeDir: os.homedir(),
      workspaceFolder: workspaceFolderPaths()[0],
    });
    // Never the workspace: the server finds its projects from the initialize request.
    const cwd = safeServerCwd(this.extensionDir, workspaceFolderPaths(), os.tmpdir());
    this.output.appendLine(`[client] starting the Aurelis server: ${exe.display} (in ${cwd})`);
    this.status.setClientState('starting');
    const refusal = this.launchRefusal(exe, settings, cwd);
    if (refusal !== undefined) {
      this.status.setClientState('stopped');
      this.reportStartFailure(refusal);
      return false;
    }
    const client = this.createClient(exe, cwd);
    this.client = client;
    try {
      await client.start();
      return true;
    } catch (error) {
      this.status.setClientState('stopped');
      this.reportStartFailure(startFailureMessage(exe, error));
      return false;
    }
  }

  /** Why the server cannot be started as configured, or undefined when it can. */
  private launchRefusal(
    exe: ServerExecutable,
    settings: ServerSettings,
    cwd: string,
  ): string | undefined {
    if (!vscode.workspace.isTrusted) {
      const refusal = untrustedLaunchRefusal(exe, settings, workspaceFolderPaths());
      if (refusal !== undefined) return refusal;
    }
    const found = findExecutable(exe.command, {
      path: process.env.PATH ?? process.env.Path,
      pathext: process.env.PATHEXT,
      platform: process.platform,
      cwd,
      isExecutable,
    });
    return found === undefined ? notFoundMessage(exe) : undefined;
  }

  private reportStartFailure(message: string): void {
    this.output.appendLine(`[client] ${message}`);
    void vscode.window.showErrorMessage(message, 'Open Settings', 'Show Output').then((choice) => {
      if (choice === 'Open Settings') {
        void vscode.commands.executeCommand('workbench.action.openSettings', '@ext:aurelis.aurelis');
      } else if (choice === 'Show Output') {
        this.output.show(true);
      }
    });
  }

  private serverSettings(): ServerSettings {
    const cfg = config();
    return {
      command: cfg.get('server.command'),
      args: cfg.get('server.args'),
      pythonPath: cfg.get('pythonPath'),
    };
  }

  private createClient(exe: ServerExecutable, cwd: string): LanguageClient {
    // No `transport`: with TransportKind.stdio the client appends `--stdio` to the
    // arguments. Left out, it still talks over stdin/stdout and runs exactly the
    // configured command line (`aurelis serve`). The server's stderr goes to the output.
    const run = { command: exe.command, args: exe.args, options: { cwd } };
    const serverOptions: ServerOptions = { run, debug: run };
    const client = new LanguageClient('aurelis', 'Aurelis', serverOptions, this.clientOptions());
    const outcomes = new SuggestionOutcomes((method, params) => client.sendNotification(method, params));
    installSuggestionOutcomes(vscode.languages as never, outcomes); // the client's provider reports
    this.outcomes = outcomes;
    // textDocument/inlineCompletion is a "proposed" (LSP 3.18) feature in
    // vscode-languageclient 9: without this the client neither advertises the capability
    // nor registers the provider.
    client.registerProposedFeatures();
    client.onNotification(STATUS_NOTIFICATION, (raw: unknown) => {
      const parsed = parseStatusParams(raw);
      if (parsed !== undefined) this.status.setServerStatus(parsed);
    });
    client.onDidChangeState((event) => {
      if (client !== this.client) return;
      this.status.setClientState(
        event.newState === State.Running
          ? 'running'
          : event.newState === State.Starting
            ? 'starting'
            : 'stopped',
      );
    });
    return client;
  }

  private clientOptions(): LanguageClientOptions {
    return {
      documentSelector: documentSelector(),
      outputChannel: this.output,
      traceOutputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      // Sends {settings: {aurelis: {...}}} on start and on every change; the default
      // workspace/configuration handler answers the server's pulls for section "aurelis".
      synchronize: { configurationSection: SECTION },
      initializationOptions: () => ({
        ...settingsSnapshot((key) => config().get(key)),
        // Restricted mode: the server honours no sensitive project setting at all.
        workspaceTrusted: vscode.workspace.isTrusted,
      }),
      middleware: this.middleware(),
    };
  }

  private middleware(): Middleware {
    return {
      // Server commands run from code actions (and anything else that invokes the
      // auto-registered `aurelis.*` ids) get their result shown here too.
      executeCommand: async (command, args, next) => {
        const spec = specForServerCommand(command);
        if (spec === undefined) return next(command, args);
        let callArgs = args;
        if (callArgs.length === 0) {
          const built = await argumentsFromEditor(spec);
          if (built === undefined) return undefined;
          callArgs = [built];
        }
        const result = await next(command, callArgs);
        await this.results.present(presentResult(spec, result));
        return result;
      },
      provideInlineCompletionItems: async (document, position, context, token, next) => {
        const cfg = vscode.workspace.getConfiguration(SECTION, document);
        if (cfg.get<boolean>('inlineCompletion.enabled', true) === false) return null;
        const delay = debounceDelay(context.triggerKind, cfg.get('inlineCompletion.debounceMs'));
        if (!(await waitUnlessCancelled(delay, token))) return null;
        const items = await next(document, position, context, token);
        return this.outcomes === undefined ? items : this.outcomes.delivered(items);
      },
    };
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    void this.stop();
  }
}
