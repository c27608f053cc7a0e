/**
 * The Aurelis status bar item: the language client's state plus the server's last
 * `aurelis/status` notification, rendered by `status.ts`. Clicking it shows the output.
 */

import * as vscode from 'vscode';

import { ClientState, parseStatusParams, renderStatus, StatusParams } from './status';

export class StatusItem implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private clientState: ClientState = 'starting';
  private lastStatus: StatusParams | undefined;
  private failure: string | undefined;

  constructor(showOutputCommand: string) {
    this.item = vscode.window.createStatusBarItem('aurelis.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Aurelis';
    this.item.command = showOutputCommand;
    this.render();
    this.item.show();
  }

  get state(): ClientState {
    return this.clientState;
  }

  /** `failure` (stopped only) says why, for the tooltip. */
  setClientState(state: ClientState, failure?: string): void {
    this.clientState = state;
    this.failure = state === 'stopped' ? failure : undefined;
    // A status from a server that is gone would be a lie; wait for the next one.
    if (state !== 'running') this.lastStatus = undefined;
    this.render();
  }

  /** An `aurelis/status` notification, checked before use (it comes from another process). */
  onServerStatus(raw: unknown): void {
    const parsed = parseStatusParams(raw);
    if (parsed === undefined) return;
    this.lastStatus = parsed;
    this.render();
  }

  private render(): void {
    const view = renderStatus(this.clientState, this.lastStatus, this.failure);
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
