import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import Module from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';

const root = resolve(__dirname, '..', '..');

/**
 * A stand-in for the `vscode` module that only has to survive module loading: every
 * property is another callable, constructible stand-in. It lets the test check that
 * the bundle loads and exports its entry points; it is not used to test behaviour.
 */
function loadOnlyVscode(): unknown {
  const cache = new Map<PropertyKey, unknown>();
  const target = function () {
    /* stand-in */
  };
  return new Proxy(target, {
    get(_t, prop) {
      if (prop === 'prototype') return Object.prototype;
      if (prop === Symbol.toPrimitive) return () => 'vscode-stand-in';
      if (prop === 'then') return undefined;
      if (!cache.has(prop)) cache.set(prop, loadOnlyVscode());
      return cache.get(prop);
    },
    apply: () => loadOnlyVscode(),
    construct: () => loadOnlyVscode() as object,
  });
}

describe('bundle (scripts/build.mjs)', () => {
  let outdir: string;

  before(() => {
    outdir = mkdtempSync(join(tmpdir(), 'aurelis-vscode-build-'));
    execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--outdir', outdir], {
      stdio: 'pipe',
    });
  });

  after(() => rmSync(outdir, { recursive: true, force: true }));

  test('inlines the language client and leaves only vscode and Node built-ins external', () => {
    const code = readFileSync(join(outdir, 'extension.js'), 'utf8');
    const required = new Set([...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]));
    assert.ok(required.has('vscode'));
    const builtins = new Set(Module.builtinModules);
    for (const name of required) {
      assert.ok(name === 'vscode' || builtins.has(name.replace(/^node:/, '')), name);
    }
  });

  test('ships terminateProcess.sh beside the bundle, executable', () => {
    const script = join(outdir, 'terminateProcess.sh');
    assert.ok(existsSync(script));
    assert.ok((statSync(script).mode & 0o111) !== 0);
  });

  test('loads as CommonJS and exports activate and deactivate', () => {
    const mod = Module as unknown as {
      _load: (request: string, parent: unknown, isMain: boolean) => unknown;
    };
    const originalLoad = mod._load;
    const stand = loadOnlyVscode();
    mod._load = function (request, parent, isMain) {
      if (request === 'vscode') return stand;
      return originalLoad.call(this, request, parent, isMain);
    };
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const ext = require(join(outdir, 'extension.js'));
      assert.equal(typeof ext.activate, 'function');
      assert.equal(typeof ext.deactivate, 'function');
    } finally {
      mod._load = originalLoad;
    }
  });
});
