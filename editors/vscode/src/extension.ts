/**
 * VS Code entry point: activation only. It creates the output channel, the status item,
 * the results panel and the server client, and registers the commands; each of those
 * lives in its own module (client, statusItem, resultsPanel, editorCommands,
 * trustCommands), and the behaviour worth testing in the pure modules they use.
 */

import * as vscode from 'vscode';

import { ServerClient } from './client';
import { registerEditorCommands } from './editorCommands';
import { SUPPORTED_LANGUAGES } from './languages';
import { ResultsPanel } from './resultsPanel';
import { StatusItem } from './statusItem';
import { registerTrustCommands } from './trustCommands';

const SHOW_OUTPUT = 'aurelis.client.showOutput';
const RESTART_SERVER = 'aurelis.client.restartServer';

let server: ServerClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Aurelis');
  const status = new StatusItem(SHOW_OUTPUT);
  const results = new ResultsPanel();
  const extensionDir = context.extensionUri?.fsPath ?? context.extensionPath;
  const client = new ServerClient(extensionDir, output, status, results);
  server = client;
  void vscode.commands.executeCommand('setContext', 'aurelis.supportedLanguages', [
    ...SUPPORTED_LANGUAGES,
  ]);
  context.subscriptions.push(
    output,
    status,
    results,
    client,
    ...registerEditorCommands(client, results, output),
    vscode.commands.registerCommand(SHOW_OUTPUT, () => output.show(true)),
    vscode.commands.registerCommand(RESTART_SERVER, () => client.restart()),
    ...registerTrustCommands(client, output),
  );
  // Not awaited: activation should not wait for the server (it may load a local model).
  void client.start();
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}
