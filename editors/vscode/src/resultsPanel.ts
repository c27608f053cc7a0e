/**
 * Shows what a command answered: Markdown (explain, analyze) in one reused read-only
 * webview beside the editor, messages as notifications or a transient status message.
 */

import * as vscode from 'vscode';

import { Presentation } from './results';
import { markdownAsPlainHtml, panelHtml } from './webview';

export class ResultsPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;

  async present(presentation: Presentation): Promise<void> {
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

  private async render(markdown: string): Promise<string> {
    try {
      const rendered = await vscode.commands.executeCommand<string>('markdown.api.render', markdown);
      return typeof rendered === 'string' ? rendered : markdownAsPlainHtml(markdown);
    } catch {
      // The built-in Markdown extension can be disabled; show the text rather than nothing.
      return markdownAsPlainHtml(markdown);
    }
  }

  private async showMarkdown(title: string, markdown: string): Promise<void> {
    const body = await this.render(markdown);
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
  }
}
