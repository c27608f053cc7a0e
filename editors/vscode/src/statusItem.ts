/**
 * The status bar item: what the client knows of the server (starting, running, stopped)
 * and the last `aurelis/status` the server sent, drawn by the pure `status` module.
 */

import * as vscode from 'vscode';

import { ClientState, renderStatus, StatusParams } from './status';

export class StatusItem implements vscode.Disposable {
  private state: ClientState = 'starting';
  private lastStatus: StatusParams | undefined;
  private readonly item: vscode.StatusBarItem;

  constructor(showOutputCommand: string) {
    this.item = vscode.window.createStatusBarItem(
      'aurelis.status',
      vscode.StatusBarAlignment.Right,
      100,
    );
    this.item.name = 'Aurelis';
    this.item.command = showOutputCommand;
    this.render();
    this.item.show();
  }

  get clientState(): ClientState {
    return this.state;
  }

  setClientState(state: ClientState): void {
    this.state = state;
    // A status from a server that is gone would be a lie; wait for the next one.
    if (state === 'stopped') this.lastStatus = undefined;
    this.render();
  }

  /** The server's latest `aurelis/status` (undefined: forget it, e.g. on restart). */
  setServerStatus(status: StatusParams | undefined): void {
    this.lastStatus = status;
    this.render();
  }

  private render(): void {
    const view = renderStatus(this.state, this.lastStatus);
    this.item.text = view.text;
    const tooltip = new vscode.MarkdownString(view.tooltip, true);
    tooltip.isTrusted = false;
    this.item.tooltip = tooltip;
    this.item.backgroundColor =
      view.severity === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : view.severity === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
