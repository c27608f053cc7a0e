/**
 * "Aurelis: Trust / Untrust Project Settings": pick the folder, ask the server (the same as
 * `aurelis trust <folder>`), say what it did. Refused in a workspace VS Code does not trust.
 */

import * as vscode from 'vscode';
import { ExecuteCommandRequest } from 'vscode-languageclient/node';

import { AurelisServer } from './serverClient';
import {
  RESTRICTED_MODE_MESSAGE,
  TRUST_COMMANDS,
  TrustCommandSpec,
  trustArguments,
  trustErrorMessage,
  trustResultMessage,
} from './trust';

/** The folder to (un)trust: the only one, or the user's pick (all of them allowed). */
async function pickTrustFolder(spec: TrustCommandSpec): Promise<{ uri?: string } | undefined> {
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

async function runTrustCommand(
  spec: TrustCommandSpec,
  server: AurelisServer,
  output: vscode.OutputChannel,
): Promise<void> {
  // The palette hides it (enablement), but a keybinding or another extension may not.
  if (spec.needsTrustedWorkspace && !vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage(RESTRICTED_MODE_MESSAGE);
    return;
  }
  const folder = await pickTrustFolder(spec);
  if (folder === undefined) return;
  const client = await server.ready();
  if (client === undefined) return;
  try {
    const result: unknown = await client.sendRequest(ExecuteCommandRequest.type, {
      command: spec.serverCommand,
      arguments: trustArguments(folder.uri),
    });
    const message = trustResultMessage(spec, result);
    output.appendLine(`[client] ${message}`);
    void vscode.window.showInformationMessage(message);
  } catch (error) {
    const message = trustErrorMessage(spec, error);
    output.appendLine(`[client] ${message}`);
    void vscode.window.showErrorMessage(message);
  }
}

export function registerTrustCommands(server: AurelisServer, output: vscode.OutputChannel): vscode.Disposable[] {
  return TRUST_COMMANDS.map((spec) =>
    vscode.commands.registerCommand(spec.clientCommand, () => runTrustCommand(spec, server, output)),
  );
}
