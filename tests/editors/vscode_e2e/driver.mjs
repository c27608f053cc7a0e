// Drives a real VS Code (code-server) in headless Debian chromium through playwright-core.
// pytest talks to it over stdin/stdout, one JSON object per line:
//   request  {"id": 1, "op": "status", ...args}
//   response {"id": 1, "ok": true, "value": ...} or {"id": 1, "ok": false, "error": "..."}
// Every op reads or changes editor state the way a user would (keyboard, palette, clicks)
// and answers with what the workbench shows, never with pixels. Screenshots are artifacts.
// usage: node driver.mjs <playwright-core dir> <screenshot dir>
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const [pwDir, shotDir] = process.argv.slice(2);
const { chromium } = await import(path.join(pwDir, 'node_modules', 'playwright-core', 'index.mjs'));
fs.mkdirSync(shotDir, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e).slice(0, 500)));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const squash = (s) => s.replace(/\u00a0/g, ' ');
const QUICK_INPUT = '.quick-input-widget input';
const EDITOR = '.editor-instance .monaco-editor';

async function quickInput(text) {
  const input = page.locator(QUICK_INPUT);
  await input.waitFor({ state: 'visible', timeout: 10000 });
  await input.fill(text);
  await sleep(700);
}

async function palette(text) {
  await page.keyboard.press('F1');
  await quickInput('>' + text);
}

/** Rows of the quick pick, as shown. */
async function quickPickRows() {
  return (await page.locator('.quick-input-list .monaco-list-row').allInnerTexts()).map((s) =>
    squash(s).replace(/\s+/g, ' ').trim(),
  );
}

/** The active editor's text: view lines ordered by their position (Monaco reuses nodes). */
async function editorText() {
  return page.evaluate((selector) => {
    const editors = [...document.querySelectorAll(selector)];
    const active = editors.find((e) => e.closest('.editor-group-container.active')) ?? editors[0];
    if (!active) return null;
    const lines = [...active.querySelectorAll('.view-lines .view-line')].map((el) => ({
      top: parseFloat(el.style.top || '0'),
      text: el.textContent ?? '',
    }));
    lines.sort((a, b) => a.top - b.top);
    return lines.map((l) => l.text.replace(/\u00a0/g, ' ')).join('\n');
  }, EDITOR);
}

const statusItem = () => page.locator('.statusbar-item').filter({ hasText: 'Aurelis' }).first();

const ops = {
  async open({ url }) {
    const t0 = Date.now();
    await page.goto(url);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60000 });
    await page.locator('.part.statusbar').waitFor({ timeout: 60000 });
    // The workbench takes keys only once it restored its parts; before that Ctrl+P is lost.
    await sleep(4000);
    return Date.now() - t0;
  },
  async openFile({ name }) {
    const input = page.locator(QUICK_INPUT);
    for (let attempt = 0; attempt < 3; attempt++) {
      await page.keyboard.press('Control+P');
      if (await input.waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false)) break;
    }
    await quickInput(name);
    // File search answers after a moment; Enter on an empty list opens nothing.
    const found = await page.locator('.quick-input-list .monaco-list-row').filter({ hasText: name }).first()
      .waitFor({ timeout: 8000 }).then(() => true, () => false);
    if (found) {
      await page.keyboard.press('Enter');
    } else {
      // A file created a moment ago may not be in the search index yet; the explorer has it.
      await page.keyboard.press('Escape');
      await page.locator('.explorer-folders-view .monaco-list-row').filter({ hasText: name }).first().dblclick();
    }
    await page.locator(EDITOR).first().waitFor({ timeout: 15000 });
    await page.locator(`.tabs-container .tab:has-text("${name}")`).first().waitFor({ timeout: 15000 });
    await sleep(500);
    return true;
  },
  async paletteRows({ query }) {
    await palette(query);
    const rows = await quickPickRows();
    await page.keyboard.press('Escape');
    return rows;
  },
  async command({ title }) {
    await palette(title);
    // Enter runs the highlighted row: wait until the filter has put the command on top
    // (under load the list can still show the recently used commands for a moment).
    let rows = [];
    for (let i = 0; i < 20; i++) {
      rows = await quickPickRows();
      if (rows.length > 0 && rows[0].startsWith(title)) break;
      await sleep(250);
    }
    if (!(rows.length > 0 && rows[0].startsWith(title))) {
      throw new Error(`"${title}" is not the first palette entry: ${JSON.stringify(rows)}`);
    }
    await page.keyboard.press('Enter');
    return true;
  },
  async quickPick({ text }) {
    await quickInput(text);
    await page.keyboard.press('Enter');
    return true;
  },
  /** Put the cursor on `line` (1-based), at its first non-blank character, by clicking it. */
  async gotoLine({ line }) {
    const number = page.locator(`${EDITOR} .line-numbers`).filter({ hasText: new RegExp(`^${line}$`) }).first();
    const box = await number.boundingBox();
    if (box === null) throw new Error(`line ${line} is not on screen`);
    await page.mouse.click(box.x + box.width + 60, box.y + box.height / 2);
    await page.keyboard.press('End');
    await page.keyboard.press('Home');
    await sleep(200);
    return true;
  },
  async selectLines({ from, to }) {
    await ops.gotoLine({ line: from });
    await page.keyboard.press('Home');
    await page.keyboard.down('Shift');
    for (let i = from; i < to; i++) await page.keyboard.press('ArrowDown');
    await page.keyboard.press('End');
    await page.keyboard.up('Shift');
    await sleep(300);
    return true;
  },
  async key({ key }) {
    await page.keyboard.press(key);
    await sleep(150);
    return true;
  },
  async type({ text, delay }) {
    await page.keyboard.type(text, { delay: delay ?? 40 });
    return true;
  },
  editorText,
  async status() {
    const item = statusItem();
    const text = squash(await item.innerText({ timeout: 5000 })).trim();
    const label = (await item.locator('a, [role="button"]').first().getAttribute('aria-label').catch(() => null)) ?? '';
    return { text, label };
  },
  async statusTooltip() {
    await page.mouse.move(5, 5);
    await sleep(300);
    await statusItem().hover();
    const hover = page.locator('.workbench-hover:visible, .monaco-hover-content:visible').filter({ hasText: 'Aurelis' }).first();
    await hover.waitFor({ state: 'visible', timeout: 8000 });
    await sleep(300);
    const text = squash(await hover.innerText());
    await page.mouse.move(5, 5);
    return text;
  },
  async notifications() {
    const toasts = await page.locator('.notifications-toasts .notification-toast').allInnerTexts();
    return toasts.map((t) => squash(t).replace(/\s+/g, ' ').trim());
  },
  async notificationCenter() {
    await palette('Notifications: Show Notifications');
    await page.keyboard.press('Enter');
    await sleep(600);
    const rows = await page.locator('.notifications-center .notification-list-item').allInnerTexts();
    await page.keyboard.press('Escape');
    return rows.map((t) => squash(t).replace(/\s+/g, ' ').trim());
  },
  async clickNotificationButton({ message, button }) {
    const toast = page.locator('.notifications-toasts .notification-toast').filter({ hasText: message }).first();
    await toast.locator('.monaco-button', { hasText: button }).first().click({ timeout: 5000 });
    await sleep(500);
    return true;
  },
  async clearNotifications() {
    await palette('Notifications: Clear All Notifications');
    await page.keyboard.press('Enter');
    await sleep(300);
    return true;
  },
  async panelText() {
    const view = page.locator('.part.panel .monaco-editor .view-lines').first();
    await view.waitFor({ timeout: 8000 });
    return squash(await view.innerText());
  },
  async ghostText() {
    // Ghost text is split over token spans and lines; compared without whitespace.
    const parts = await page.locator(`${EDITOR} .ghost-text-decoration, ${EDITOR} .ghost-text`).allTextContents();
    return squash(parts.join('')).replace(/\s+/g, '');
  },
  async codeActions({ via }) {
    if (via === 'lightbulb') {
      const bulb = page.locator('.lightBulbWidget, .codicon-light-bulb, .codicon-lightbulb-sparkle, .codicon-lightbulb-autofix').first();
      await bulb.waitFor({ state: 'visible', timeout: 15000 });
      await bulb.click();
    } else if (via === 'source') {
      await palette('Source Action...');
      await page.keyboard.press('Enter');
    } else {
      await page.keyboard.press('Control+.');
    }
    const menu = page.locator('.action-widget:not(.action-list-submenu-panel)').first();
    await menu.waitFor({ state: 'visible', timeout: 15000 });
    await sleep(500);
    const rows = await menu.locator('.monaco-list-row').allInnerTexts();
    return rows.map((r) => squash(r).replace(/\s+/g, ' ').trim()).filter((r) => r !== '');
  },
  async chooseAction({ label }) {
    await page.locator('.action-widget:not(.action-list-submenu-panel) .monaco-list-row')
      .filter({ hasText: label }).first().click();
    return true;
  },
  async tabs() {
    return (await page.locator('.tabs-container .tab').allInnerTexts()).map((t) => squash(t).trim());
  },
  async webviewTitles() {
    return (await page.locator('.tabs-container .tab').allInnerTexts()).map((t) => squash(t).trim());
  },
  async screenshot({ name }) {
    const file = path.join(shotDir, `${name}.png`);
    await page.screenshot({ path: file });
    return file;
  },
  async pageErrors() {
    return pageErrors;
  },
  async close() {
    await browser.close();
    return true;
  },
};

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  if (line.trim() === '') continue;
  const { id, op, ...args } = JSON.parse(line);
  let reply;
  try {
    if (!(op in ops)) throw new Error(`unknown op ${op}`);
    reply = { id, ok: true, value: await ops[op](args) };
  } catch (error) {
    reply = { id, ok: false, error: String(error?.stack ?? error).slice(0, 2000) };
    await page.screenshot({ path: path.join(shotDir, `error-${id}-${op}.png`) }).catch(() => undefined);
    // Leave no menu or quick input open to break the next step.
    await page.keyboard.press('Escape').catch(() => undefined);
    await page.keyboard.press('Escape').catch(() => undefined);
  }
  process.stdout.write(JSON.stringify(reply) + '\n');
  if (op === 'close') break;
}
process.exit(0);
