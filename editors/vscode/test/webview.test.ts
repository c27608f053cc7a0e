import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { escapeHtml, markdownAsPlainHtml, panelHtml } from '../src/webview';

describe('panelHtml', () => {
  const html = panelHtml('Aurelis: Explanation', '<h1>Hi</h1>', 'vscode-webview://abc');

  test('contains the rendered body', () => {
    assert.match(html, /<body>\n<h1>Hi<\/h1>\n<\/body>/);
  });

  test('has a content security policy that allows no scripts', () => {
    const csp = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html);
    assert.ok(csp);
    assert.match(csp[1], /default-src 'none'/);
    assert.doesNotMatch(csp[1], /script-src/);
  });

  test('escapes the title', () => {
    assert.match(panelHtml('<b>x</b>', '', 's'), /<title>&lt;b&gt;x&lt;\/b&gt;<\/title>/);
  });
});

describe('markdownAsPlainHtml', () => {
  test('shows the source escaped in a pre block', () => {
    assert.equal(markdownAsPlainHtml('<script>x</script>'), '<pre class="aurelis-plain">&lt;script&gt;x&lt;/script&gt;</pre>');
  });
});

describe('escapeHtml', () => {
  test('escapes all five special characters', () => {
    assert.equal(escapeHtml(`&<>"'`), '&amp;&lt;&gt;&quot;&#39;');
  });
});
