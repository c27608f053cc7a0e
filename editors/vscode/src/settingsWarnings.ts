/**
 * Reads the settings files where a machine-scoped `aurelis.*` setting may sit unnoticed
 * (User settings in a remote-style window, a folder's `.vscode/settings.json`) and warns
 * once per activation when VS Code ignored one, naming the file and where it belongs.
 */

import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';

import { ignoredMachineSettings, ignoredSettingsMessage, SettingsFile } from './machineSettings';
import { SECTION } from './settings';

function readSettingsFile(label: string, file: string): SettingsFile | undefined {
  try {
    // Settings files are small; anything huge is not one worth reading here.
    if (fs.statSync(file).size > 1_000_000) return undefined;
    return { label, path: file, text: fs.readFileSync(file, 'utf8') };
  } catch {
    return undefined;
  }
}

/** `<user-data-dir>/User/settings.json`: global storage is `<user-data-dir>/User/globalStorage/<id>`. */
function userSettingsFile(globalStorage: vscode.Uri | undefined): SettingsFile | undefined {
  if (globalStorage === undefined || globalStorage.scheme !== 'file') return undefined;
  return readSettingsFile('User settings', path.join(globalStorage.fsPath, '..', '..', 'settings.json'));
}

function folderSettingsFiles(): SettingsFile[] {
  return (vscode.workspace.workspaceFolders ?? [])
    .filter((folder) => folder.uri.scheme === 'file')
    .map((folder) =>
      readSettingsFile(
        `the settings of workspace folder "${folder.name}"`,
        path.join(folder.uri.fsPath, '.vscode', 'settings.json'),
      ),
    )
    .filter((file): file is SettingsFile => file !== undefined);
}

/** True in a window whose extension host runs apart from the UI (code-server, SSH, WSL). */
export function isRemoteStyleWindow(globalStorage: vscode.Uri | undefined): boolean {
  if (vscode.env.remoteName !== undefined) return true;
  if (globalStorage === undefined || globalStorage.scheme !== 'file') return false;
  return fs.existsSync(path.join(globalStorage.fsPath, '..', '..', '..', 'Machine'));
}

/** Warn about machine-scoped values VS Code ignored; returns the message shown, if any. */
export function warnAboutIgnoredSettings(
  globalStorage: vscode.Uri | undefined,
  output: vscode.OutputChannel,
): string | undefined {
  const remote = isRemoteStyleWindow(globalStorage);
  const files = [...(remote ? [userSettingsFile(globalStorage)] : []), ...folderSettingsFiles()].filter(
    (file): file is SettingsFile => file !== undefined,
  );
  const cfg = vscode.workspace.getConfiguration(SECTION);
  const message = ignoredSettingsMessage(
    ignoredMachineSettings(files, (key) => cfg.get(key)),
    remote,
  );
  if (message === undefined) return undefined;
  output.appendLine(`[client] ${message}`);
  const open = remote ? 'Open Remote Settings' : 'Open User Settings';
  void vscode.window.showWarningMessage(message, open).then((choice) => {
    if (choice !== open) return;
    const command = remote ? 'workbench.action.openRemoteSettingsFile' : 'workbench.action.openSettingsJson';
    void vscode.commands.executeCommand(command);
  });
  return message;
}
