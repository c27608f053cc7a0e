import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';

import { COMMANDS } from '../src/commands';
import { SUPPORTED_LANGUAGES } from '../src/languages';
import { DEFAULT_ARGS, DEFAULT_COMMAND } from '../src/serverOptions';
import { SETTING_DEFAULTS } from '../src/settings';
import { MACHINE_SCOPED_SETTINGS, RESTRICTED_SETTINGS, TRUST_COMMANDS } from '../src/trust';

// Compiled to out/test/, so the package root is two levels up.
const root = resolve(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

interface MenuItem {
  command?: string;
  submenu?: string;
  when?: string;
}

function minVersion(range: string): number[] {
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(range);
  assert.ok(m, `no version in ${range}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

describe('package.json', () => {
  test('identifies the extension and its bundled entry point', () => {
    assert.equal(pkg.name, 'aurelis');
    assert.equal(pkg.publisher, 'aurelis');
    assert.equal(pkg.engines.vscode, '^1.90.0');
    assert.equal(pkg.main, './dist/extension.js');
  });

  test('activates on startup and on every supported language', () => {
    assert.deepEqual(pkg.activationEvents, [
      'onStartupFinished',
      ...SUPPORTED_LANGUAGES.map((l) => `onLanguage:${l}`),
    ]);
  });

  test('declares every client command with its title, and no server command id', () => {
    const declared = new Map<string, { title: string; category: string }>(
      pkg.contributes.commands.map((c: { command: string; title: string; category: string }) => [
        c.command,
        c,
      ]),
    );
    for (const spec of COMMANDS) {
      const c = declared.get(spec.clientCommand);
      assert.ok(c, spec.clientCommand);
      assert.equal(c.title, spec.title);
      assert.equal(c.category, 'Aurelis');
      assert.equal(declared.has(spec.serverCommand), false, spec.serverCommand);
    }
  });

  test('puts the commands in an "Aurelis" submenu of the editor context menu', () => {
    const submenu = pkg.contributes.submenus.find((s: { label: string }) => s.label === 'Aurelis');
    assert.ok(submenu);
    const context: MenuItem[] = pkg.contributes.menus['editor/context'];
    assert.ok(context.some((m) => m.submenu === submenu.id));
    const items: MenuItem[] = pkg.contributes.menus[submenu.id];
    assert.deepEqual(
      items.map((m) => m.command),
      COMMANDS.map((c) => c.clientCommand),
    );
  });

  test('every command referenced by a menu is declared', () => {
    const declared = new Set(pkg.contributes.commands.map((c: { command: string }) => c.command));
    for (const [menu, items] of Object.entries(pkg.contributes.menus as Record<string, MenuItem[]>)) {
      for (const item of items) {
        if (item.command !== undefined) assert.ok(declared.has(item.command), `${menu}: ${item.command}`);
      }
    }
  });

  test('declares exactly the settings the client sends, with the same defaults', () => {
    const props = pkg.contributes.configuration.properties as Record<string, { default: unknown }>;
    assert.deepEqual(
      Object.keys(props).sort(),
      Object.keys(SETTING_DEFAULTS).map((k) => `aurelis.${k}`).sort(),
    );
    for (const [key, value] of Object.entries(SETTING_DEFAULTS)) {
      assert.deepEqual(props[`aurelis.${key}`].default, value, key);
    }
  });

  test('server defaults match the code', () => {
    const props = pkg.contributes.configuration.properties;
    assert.equal(props['aurelis.server.command'].default, DEFAULT_COMMAND);
    assert.deepEqual(props['aurelis.server.args'].default, DEFAULT_ARGS);
  });

  test('declares limited support for untrusted workspaces, restricting the sensitive settings', () => {
    const untrusted = pkg.capabilities.untrustedWorkspaces;
    assert.equal(untrusted.supported, 'limited');
    assert.ok(untrusted.description.length > 20);
    assert.deepEqual(
      [...untrusted.restrictedConfigurations].sort(),
      RESTRICTED_SETTINGS.map((k) => `aurelis.${k}`).sort(),
    );
    for (const key of ['server.command', 'server.args', 'pythonPath', 'endpoint']) {
      assert.ok(RESTRICTED_SETTINGS.includes(key), key);
    }
  });

  test('machine-scoped settings say where VS Code honours them, remote windows included', () => {
    const props = pkg.contributes.configuration.properties;
    for (const key of MACHINE_SCOPED_SETTINGS) {
      const text: string = props[`aurelis.${key}`].description ?? props[`aurelis.${key}`].markdownDescription;
      assert.match(text, /Machine-scoped/, key);
      assert.match(text, /Remote settings/, key);
      assert.doesNotMatch(text, /User settings only/, key);
    }
  });

  test('settings that pick the executable or where code goes are machine-scoped', () => {
    const props = pkg.contributes.configuration.properties as Record<string, { scope?: string }>;
    for (const key of MACHINE_SCOPED_SETTINGS) {
      assert.equal(props[`aurelis.${key}`].scope, 'machine', key);
    }
    for (const key of ['server.command', 'server.args', 'pythonPath', 'endpoint', 'provider']) {
      assert.ok(MACHINE_SCOPED_SETTINGS.includes(key), key);
    }
  });

  test('declares the trust commands; trusting needs a trusted workspace', () => {
    const declared = new Map<string, { title: string; category: string; enablement?: string }>(
      pkg.contributes.commands.map((c: { command: string }) => [c.command, c]),
    );
    for (const spec of TRUST_COMMANDS) {
      const c = declared.get(spec.clientCommand);
      assert.ok(c, spec.clientCommand);
      assert.equal(c.title, spec.title);
      assert.equal(c.category, 'Aurelis');
      assert.equal(c.enablement === 'isWorkspaceTrusted', spec.needsTrustedWorkspace, spec.clientCommand);
      assert.equal(declared.has(spec.serverCommand), false, spec.serverCommand);
    }
  });

  test('packages non-interactively with a pinned vsce and a license', () => {
    assert.match(pkg.devDependencies['@vscode/vsce'], /^\d+\.\d+\.\d+$/);
    assert.doesNotMatch(pkg.scripts.package, /npx/);
    assert.equal(pkg.license, 'MIT');
    assert.match(readFileSync(join(root, 'LICENSE'), 'utf8'), /^MIT License/);
  });

  test('enumerated settings list their values', () => {
    const props = pkg.contributes.configuration.properties;
    assert.deepEqual(props['aurelis.trace.server'].enum, ['off', 'messages', 'verbose']);
    assert.deepEqual(props['aurelis.provider'].enum, ['auto', 'azure', 'local']);
  });

  test('@types/vscode is not newer than the engine (or the API used might be missing)', () => {
    const types = JSON.parse(
      readFileSync(join(root, 'node_modules', '@types', 'vscode', 'package.json'), 'utf8'),
    );
    const [major, minor] = minVersion(types.version);
    const [emajor, eminor] = minVersion(pkg.engines.vscode);
    assert.ok(major === emajor && minor <= eminor, `@types/vscode ${types.version}`);
  });

  test('the installed vscode-languageclient supports the engine', () => {
    const client = JSON.parse(
      readFileSync(join(root, 'node_modules', 'vscode-languageclient', 'package.json'), 'utf8'),
    );
    assert.ok(
      compare(minVersion(client.engines.vscode), minVersion(pkg.engines.vscode)) <= 0,
      `vscode-languageclient ${client.version} needs vscode ${client.engines.vscode}`,
    );
  });
});

describe('source layout', () => {
  // The modules that talk to VS Code; everything else is plain logic, unit tested under node.
  const HOST_MODULES = new Set([
    'extension.ts',
    'serverClient.ts',
    'statusItem.ts',
    'editorCommands.ts',
    'trustCommands.ts',
    'resultsPanel.ts',
    'settingsWarnings.ts',
  ]);

  test('only the host modules import vscode, so the rest can be unit tested', () => {
    const src = join(root, 'src');
    for (const file of readdirSync(src)) {
      if (!file.endsWith('.ts') || HOST_MODULES.has(file)) continue;
      const text = readFileSync(join(src, file), 'utf8');
      assert.doesNotMatch(text, /from ['"]vscode(-languageclient[^'"]*)?['"]|require\(['"]vscode/, file);
    }
  });

  test('extension.ts only wires: it defines no class and stays short', () => {
    const text = readFileSync(join(root, 'src', 'extension.ts'), 'utf8');
    assert.doesNotMatch(text, /^\s*(export )?class /m);
    assert.ok(text.split('\n').length < 100, 'extension.ts grew past wiring');
  });

  test('every module opens with a docstring and stays under 500 lines', () => {
    const src = join(root, 'src');
    for (const file of readdirSync(src).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(join(src, file), 'utf8');
      assert.match(text, /^\/\*\*/, file);
      assert.ok(text.split('\n').length < 500, file);
    }
  });
});
