/**
 * VS Code entry point: only wiring. The server's lifecycle lives in serverClient, the
 * status bar item in statusItem, the editor and trust commands in editorCommands and
 * trustCommands, results in resultsPanel; the behaviour they share is in the pure modules
 * (commands, commandArgs, results, status, serverOptions, settings, inline, webview).
 */

import * as vscode from 'vscode';

import { registerEditorCommands, serverCommandMiddleware } from './editorCommands';
import { SUPPORTED_LANGUAGES } from './languages';
import { ResultsPanel } from './resultsPanel';
import { AurelisServer } from './serverClient';
import { RESTART_KEYS } from './serverOptions';
import { SECTION } from './settings';
import { warnAboutIgnoredSettings } from './settingsWarnings';
import { StatusItem } from './statusItem';
import { registerTrustCommands } from './trustCommands';

const SHOW_OUTPUT = 'aurelis.client.showOutput';

let server: AurelisServer | undefined;

function watchConfiguration(running: AurelisServer, output: vscode.OutputChannel): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((event) => {
    if (RESTART_KEYS.some((key) => event.affectsConfiguration(`${SECTION}.${key}`))) {
      output.appendLine('[client] server settings changed; restarting the server');
      void running.restartByUser();
    } else if (event.affectsConfiguration(SECTION)) {
      running.settingsChanged();
    }
  });
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Aurelis');
  const status = new StatusItem(SHOW_OUTPUT);
  const results = new ResultsPanel();
  const running = new AurelisServer(
    context.extensionUri?.fsPath ?? context.extensionPath,
    output,
    status,
    serverCommandMiddleware(results),
  );
  server = running;
  void vscode.commands.executeCommand('setContext', 'aurelis.supportedLanguages', [...SUPPORTED_LANGUAGES]);
  context.subscriptions.push(
    output,
    status,
    results,
    running,
    ...registerEditorCommands(running, results, output),
    ...registerTrustCommands(running, output),
    vscode.commands.registerCommand(SHOW_OUTPUT, () => output.show(true)),
    vscode.commands.registerCommand('aurelis.client.restartServer', () => running.restartByUser()),
    // Restricted mode told the server to ignore project settings; now they may count.
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      output.appendLine('[client] the workspace is now trusted; restarting the server');
      void running.restartByUser();
    }),
    watchConfiguration(running, output),
  );
  warnAboutIgnoredSettings(context.globalStorageUri, output);
  // Not awaited: activation should not wait for the server (it may load a local model).
  void running.start();
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}
