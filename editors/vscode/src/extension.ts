/**
 * VS Code entry point: wires the pure modules (commands, commandArgs, results, status,
 * serverOptions, settings, inline, webview) to the VS Code and language-client APIs.
 * Behaviour worth testing lives in those modules; this file only connects them.
 */

import * as fs from 'fs';
import * as os from 'os';
import * as vscode from 'vscode';
import {
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
} from 'vscode-languageclient/node';

import { buildCommandArguments, CommandArguments, EditorSnapshot } from './commandArgs';
import { COMMANDS, CommandSpec, resolveInstruction, specForServerCommand } from './commands';
import { debounceDelay, waitUnlessCancelled } from './inline';
import { documentSelector, SUPPORTED_LANGUAGES } from './languages';
import { errorMessage, presentResult, Presentation } from './results';
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
import { ClientState, parseStatusParams, renderStatus, StatusParams } from './status';
import {
  RESTRICTED_MODE_MESSAGE,
  TRUST_COMMANDS,
  TrustCommandSpec,
  trustArguments,
  trustErrorMessage,
  trustResultMessage,
} from './trust';
import { markdownAsPlainHtml, panelHtml } from './webview';
import { installSuggestionOutcomes, SuggestionOutcomes } from './suggestionOutcomes';

const STATUS_NOTIFICATION = 'aurelis/status';

let controller: AurelisController | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  controller = new AurelisController(context.extensionUri?.fsPath ?? context.extensionPath);
  context.subscriptions.push(controller);
  // Not awaited: activation should not wait for the server (it may load a local model).
  void controller.start();
}

export async function deactivate(): Promise<void> {
  await controller?.stop();
  controller = undefined;
}

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SECTION);
}

function snapshot(editor: vscode.TextEditor): EditorSnapshot {
  const { anchor, active } = editor.selection;
  return {
    uri: editor.document.uri.toString(),
    version: editor.document.version,
    selection: {
      anchor: { line: anchor.line, character: anchor.character },
      active: { line: active.line, character: active.character },
    },
  };
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

class AurelisController implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<boolean> | undefined;
  private restarting: Promise<void> = Promise.resolve();
  private clientState: ClientState = 'starting';
  private lastStatus: StatusParams | undefined;
  private panel: vscode.WebviewPanel | undefined;
  private readonly output: vscode.OutputChannel;
  private readonly statusItem: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly extensionDir: string | undefined) {
    this.output = vscode.window.createOutputChannel('Aurelis');
    this.statusItem = vscode.window.createStatusBarItem(
      'aurelis.status',
      vscode.StatusBarAlignment.Right,
      100,
    );
    this.statusItem.name = 'Aurelis';
    this.statusItem.command = 'aurelis.client.showOutput';
    this.disposables.push(this.output, this.statusItem);
    this.renderStatusItem();
    this.statusItem.show();

    void vscode.commands.executeCommand('setContext', 'aurelis.supportedLanguages', [
      ...SUPPORTED_LANGUAGES,
    ]);

    for (const spec of COMMANDS) {
      this.disposables.push(
        vscode.commands.registerCommand(spec.clientCommand, () => this.runFromEditor(spec)),
      );
    }
    this.disposables.push(
      vscode.commands.registerCommand('aurelis.client.showOutput', () => this.output.show(true)),
      vscode.commands.registerCommand('aurelis.client.restartServer', () => this.restart()),
      ...TRUST_COMMANDS.map((spec) =>
        vscode.commands.registerCommand(spec.clientCommand, () => this.runTrustCommand(spec)),
      ),
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

  // ---- lifecycle -------------------------------------------------------------------

  start(): Promise<boolean> {
    if (this.starting === undefined) {
      this.starting = this.doStart();
    }
    return this.starting;
  }

  private async doStart(): Promise<boolean> {
    const settings = this.serverSettings();
    const exe = this.serverExecutable(settings);
    const cwd = this.serverCwd();
    this.output.appendLine(`[client] starting the Aurelis server: ${exe.display} (in ${cwd})`);
    this.setClientState('starting');
    if (!vscode.workspace.isTrusted) {
      const refusal = untrustedLaunchRefusal(exe, settings, workspaceFolderPaths());
      if (refusal !== undefined) {
        this.setClientState('stopped');
        this.reportStartFailure(refusal);
        return false;
      }
    }
    const found = findExecutable(exe.command, {
      path: process.env.PATH ?? process.env.Path,
      pathext: process.env.PATHEXT,
      platform: process.platform,
      cwd,
      isExecutable,
    });
    if (found === undefined) {
      this.setClientState('stopped');
      this.reportStartFailure(notFoundMessage(exe));
      return false;
    }
    const client = this.createClient(exe, cwd);
    this.client = client;
    try {
      await client.start();
      return true;
    } catch (error) {
      this.setClientState('stopped');
      this.reportStartFailure(startFailureMessage(exe, error));
      return false;
    }
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
      this.lastStatus = undefined;
      await this.start();
    });
    return this.restarting;
  }

  private serverSettings(): ServerSettings {
    const cfg = config();
    return {
      command: cfg.get('server.command'),
      args: cfg.get('server.args'),
      pythonPath: cfg.get('pythonPath'),
    };
  }

  private serverExecutable(settings: ServerSettings): ServerExecutable {
    return resolveServerExecutable(settings, {
      homeDir: os.homedir(),
      workspaceFolder: workspaceFolderPaths()[0],
    });
  }

  /** Never the workspace: the server finds its projects from the initialize request. */
  private serverCwd(): string {
    return safeServerCwd(this.extensionDir, workspaceFolderPaths(), os.tmpdir());
  }

  private createClient(exe: ServerExecutable, cwd: string): LanguageClient {
    // No `transport`: with TransportKind.stdio the client appends `--stdio` to the
    // arguments. Left out, it still talks over stdin/stdout and runs exactly the
    // configured command line (`aurelis serve`). The server's stderr goes to the output.
    const run = {
      command: exe.command,
      args: exe.args,
      options: { cwd },
    };
    const serverOptions: ServerOptions = { run, debug: run };
    const clientOptions: LanguageClientOptions = {
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
      middleware: {
        // Server commands run from code actions (and anything else that invokes the
        // auto-registered `aurelis.*` ids) get their result shown here too.
        executeCommand: async (command, args, next) => {
          const spec = specForServerCommand(command);
          if (spec === undefined) return next(command, args);
          let callArgs = args;
          if (callArgs.length === 0) {
            const built = await this.argumentsFromEditor(spec);
            if (built === undefined) return undefined;
            callArgs = [built];
          }
          const result = await next(command, callArgs);
          await this.present(presentResult(spec, result));
          return result;
        },
        provideInlineCompletionItems: async (document, position, context, token, next) => {
          const cfg = vscode.workspace.getConfiguration(SECTION, document);
          if (cfg.get<boolean>('inlineCompletion.enabled', true) === false) return null;
          const delay = debounceDelay(context.triggerKind, cfg.get('inlineCompletion.debounceMs'));
          if (!(await waitUnlessCancelled(delay, token))) return null;
          return outcomes.delivered(await next(document, position, context, token));
        },
      },
    };
    const client = new LanguageClient('aurelis', 'Aurelis', serverOptions, clientOptions);
    const outcomes = new SuggestionOutcomes((method, params) => client.sendNotification(method, params));
    installSuggestionOutcomes(vscode.languages as never, outcomes); // the client's provider reports
    // textDocument/inlineCompletion is a "proposed" (LSP 3.18) feature in
    // vscode-languageclient 9: without this the client neither advertises the capability
    // nor registers the provider.
    client.registerProposedFeatures();
    client.onNotification(STATUS_NOTIFICATION, (raw: unknown) => {
      const parsed = parseStatusParams(raw);
      if (parsed === undefined) return;
      this.lastStatus = parsed;
      this.renderStatusItem();
    });
    client.onDidChangeState((event) => {
      if (client !== this.client) return;
      this.setClientState(
        event.newState === State.Running
          ? 'running'
          : event.newState === State.Starting
            ? 'starting'
            : 'stopped',
      );
    });
    return client;
  }

  // ---- status bar ------------------------------------------------------------------

  private setClientState(state: ClientState): void {
    this.clientState = state;
    // A status from a server that is gone would be a lie; wait for the next one.
    if (state === 'stopped') this.lastStatus = undefined;
    this.renderStatusItem();
  }

  private renderStatusItem(): void {
    const view = renderStatus(this.clientState, this.lastStatus);
    this.statusItem.text = view.text;
    const tooltip = new vscode.MarkdownString(view.tooltip, true);
    tooltip.isTrusted = false;
    this.statusItem.tooltip = tooltip;
    this.statusItem.backgroundColor =
      view.severity === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : view.severity === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
  }

  // ---- commands --------------------------------------------------------------------

  /** Ask for the instruction (if the command takes one) and build the argument object. */
  private async argumentsFromEditor(spec: CommandSpec): Promise<CommandArguments | undefined> {
    const editor = vscode.window.activeTextEditor;
    if (editor === undefined) {
      void vscode.window.showInformationMessage(`Aurelis: open a file to use ${spec.title}.`);
      return undefined;
    }
    let instruction: string | undefined;
    if (spec.prompt !== 'none') {
      const answer = await vscode.window.showInputBox({
        title: `Aurelis: ${spec.title}`,
        prompt: spec.promptText,
        placeHolder: spec.placeholder,
        ignoreFocusOut: true,
      });
      const outcome = resolveInstruction(spec.prompt, answer);
      if (!outcome.proceed) {
        if (outcome.reason === 'empty') {
          void vscode.window.showInformationMessage(
            `Aurelis: ${spec.title} needs an instruction.`,
          );
        }
        return undefined;
      }
      instruction = outcome.instruction;
    }
    // Snapshot after the prompt: the cursor or text may have moved while it was open.
    return buildCommandArguments(snapshot(editor), instruction);
  }

  /** Palette / context-menu entry: talk to the server directly, then show the result. */
  private async runFromEditor(spec: CommandSpec): Promise<void> {
    const args = await this.argumentsFromEditor(spec);
    if (args === undefined) return;
    // After a crash the client gives up and stays stopped; a command is a good moment
    // to try again (the user may have fixed the install meanwhile).
    if (this.clientState === 'stopped') await this.restart();
    // A failed start has already told the user why.
    if (!(await this.start())) return;
    const client = this.client;
    if (client === undefined || !client.isRunning()) {
      void vscode.window.showErrorMessage(
        'Aurelis: the language server is not running. See the Aurelis output for why.',
      );
      return;
    }
    await vscode.window.withProgress(
      // Window location: a quiet spinner in the status bar. Long server work reports
      // its own cancellable $/progress, which the language client shows.
      { location: vscode.ProgressLocation.Window, title: spec.progressTitle },
      async () => {
        try {
          const result: unknown = await client.sendRequest(ExecuteCommandRequest.type, {
            command: spec.serverCommand,
            arguments: [args],
          });
          await this.present(presentResult(spec, result));
        } catch (error) {
          const message = errorMessage(spec, error);
          if (message !== undefined) {
            this.output.appendLine(`[client] ${message}`);
            void vscode.window.showErrorMessage(message);
          }
        }
      },
    );
  }

  // ---- trust -----------------------------------------------------------------------

  /** The folder to (un)trust: the only one, or the user's pick (all of them allowed). */
  private async pickTrustFolder(spec: TrustCommandSpec): Promise<{ uri?: string } | undefined> {
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (folders.length === 0) {
      void vscode.window.showInformationMessage(`Aurelis: open a folder to use ${spec.title}.`);
      return undefined;
    }
    if (folders.length === 1) return { uri: folders[0].uri.toString() };
    const all = { label: 'All workspace folders', uri: undefined as string | undefined };
    const picked = await vscode.window.showQuickPick(
      [...folders.map((f) => ({ label: f.name, description: f.uri.fsPath, uri: f.uri.toString() })), all],
      { title: `Aurelis: ${spec.title}` },
    );
    return picked === undefined ? undefined : { uri: picked.uri };
  }

  private async runTrustCommand(spec: TrustCommandSpec): Promise<void> {
    // The palette hides it (enablement), but a keybinding or another extension may not.
    if (spec.needsTrustedWorkspace && !vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage(RESTRICTED_MODE_MESSAGE);
      return;
    }
    const folder = await this.pickTrustFolder(spec);
    if (folder === undefined) return;
    if (this.clientState === 'stopped') await this.restart();
    if (!(await this.start())) return;
    const client = this.client;
    if (client === undefined || !client.isRunning()) return;
    try {
      const result: unknown = await client.sendRequest(ExecuteCommandRequest.type, {
        command: spec.serverCommand,
        arguments: trustArguments(folder.uri),
      });
      const message = trustResultMessage(spec, result);
      this.output.appendLine(`[client] ${message}`);
      void vscode.window.showInformationMessage(message);
    } catch (error) {
      const message = trustErrorMessage(spec, error);
      this.output.appendLine(`[client] ${message}`);
      void vscode.window.showErrorMessage(message);
    }
  }

  // ---- results ---------------------------------------------------------------------

  private async present(presentation: Presentation): Promise<void> {
    switch (presentation.kind) {
      case 'markdown':
        await this.showMarkdown(presentation.title, presentation.markdown);
        return;
      case 'info':
        void vscode.window.showInformationMessage(presentation.message);
        return;
      case 'warning':
        void vscode.window.showWarningMessage(presentation.message);
        return;
      case 'status':
        vscode.window.setStatusBarMessage(`$(sparkle) ${presentation.message}`, 5000);
        return;
      case 'none':
        return;
    }
  }

  private async showMarkdown(title: string, markdown: string): Promise<void> {
    let body: string;
    try {
      const rendered = await vscode.commands.executeCommand<string>('markdown.api.render', markdown);
      body = typeof rendered === 'string' ? rendered : markdownAsPlainHtml(markdown);
    } catch {
      // The built-in Markdown extension can be disabled; show the text rather than nothing.
      body = markdownAsPlainHtml(markdown);
    }
    if (this.panel === undefined) {
      this.panel = vscode.window.createWebviewPanel(
        'aurelis.result',
        title,
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
        { enableScripts: false, enableFindWidget: true, localResourceRoots: [] },
      );
      this.panel.onDidDispose(() => {
        this.panel = undefined;
      });
    } else {
      this.panel.reveal(vscode.ViewColumn.Beside, true);
    }
    this.panel.title = title;
    this.panel.webview.html = panelHtml(title, body, this.panel.webview.cspSource);
  }

  dispose(): void {
    this.panel?.dispose();
    for (const d of this.disposables) d.dispose();
    void this.stop();
  }
}
