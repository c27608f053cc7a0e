/**
 * HTML for the read-only panel that shows `explain` / `analyze` results.
 *
 * The Markdown is rendered to HTML by VS Code's own renderer (`markdown.api.render`);
 * this module wraps it in a page with a Content-Security-Policy that allows no scripts,
 * so whatever the model wrote cannot run in the panel.
 */

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Fallback when the Markdown renderer is unavailable: the source as preformatted text. */
export function markdownAsPlainHtml(markdown: string): string {
  return `<pre class="aurelis-plain">${escapeHtml(markdown)}</pre>`;
}

/**
 * A complete HTML page around already rendered `bodyHtml`.
 * `cspSource` is `webview.cspSource` (lets the page load images from the workspace).
 */
export function panelHtml(title: string, bodyHtml: string, cspSource: string): string {
  const csp = [
    "default-src 'none'",
    `img-src ${cspSource} https: data:`,
    `style-src ${cspSource} 'unsafe-inline'`,
    `font-src ${cspSource}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(title)}</title>
<style>
  body { font-family: var(--vscode-markdown-font-family, var(--vscode-font-family)); font-size: var(--vscode-markdown-font-size, 14px); line-height: 1.6; padding: 0 20px 20px; color: var(--vscode-foreground); }
  code, pre { font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); }
  pre { background: var(--vscode-textCodeBlock-background); padding: 12px; border-radius: 4px; overflow-x: auto; white-space: pre; }
  pre.aurelis-plain { white-space: pre-wrap; }
  :not(pre) > code { background: var(--vscode-textCodeBlock-background); padding: 1px 4px; border-radius: 3px; }
  a { color: var(--vscode-textLink-foreground); }
  table { border-collapse: collapse; }
  th, td { border: 1px solid var(--vscode-panel-border, #8884); padding: 4px 8px; }
  blockquote { border-left: 4px solid var(--vscode-textBlockQuote-border); margin: 0; padding: 0 12px; background: var(--vscode-textBlockQuote-background); }
</style>
</head>
<body>
${bodyHtml}
</body>
</html>`;
}
