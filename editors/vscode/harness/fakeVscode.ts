/**
 * A small stand-in for the `vscode` module, enough to run the real extension.ts and the
 * real vscode-languageclient against a real (scripted) LSP server process without the
 * VS Code binary, which cannot be downloaded here. It records what the extension shows
 * (messages, status bar, webview HTML, registered providers and commands) so tests can
 * assert on it. APIs nobody set up resolve to inert callables (see `inert`).
 *
 * Faithful where it matters for the wiring: `commands.registerCommand` throws on a
 * duplicate id, as VS Code does, so a client/server command clash fails the test.
 */

/* eslint-disable @typescript-eslint/no-explicit-any */

type Listener<T> = (e: T) => unknown;

export class Disposable {
  static from(...items: Array<{ dispose(): unknown }>): Disposable {
    return new Disposable(() => items.forEach((i) => i.dispose()));
  }
  constructor(private readonly fn: () => unknown) {}
  dispose(): void {
    this.fn();
  }
}

export class EventEmitter<T> {
  private listeners = new Set<Listener<T>>();
  event = (listener: Listener<T>): Disposable => {
    this.listeners.add(listener);
    return new Disposable(() => this.listeners.delete(listener));
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) l(e);
  }
  dispose(): void {
    this.listeners.clear();
  }
}

export class CancellationError extends Error {}

export class CancellationTokenSource {
  private emitter = new EventEmitter<void>();
  token = {
    isCancellationRequested: false,
    onCancellationRequested: this.emitter.event,
  };
  cancel(): void {
    if (!this.token.isCancellationRequested) {
      this.token.isCancellationRequested = true;
      this.emitter.fire();
    }
  }
  dispose(): void {
    this.emitter.dispose();
  }
}

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
  isEqual(o: Position): boolean {
    return o.line === this.line && o.character === this.character;
  }
}

export class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(a: any, b: any, c?: number, d?: number) {
    if (typeof a === 'number') {
      this.start = new Position(a, b);
      this.end = new Position(c as number, d as number);
    } else {
      this.start = a;
      this.end = b;
    }
  }
  get isEmpty(): boolean {
    return this.start.isEqual(this.end);
  }
}

export class Selection extends Range {
  constructor(
    readonly anchor: Position,
    readonly active: Position,
  ) {
    const forward =
      anchor.line < active.line || (anchor.line === active.line && anchor.character <= active.character);
    super(forward ? anchor : active, forward ? active : anchor);
  }
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly path: string,
  ) {}
  static parse(value: string): Uri {
    const m = /^([a-z][\w+.-]*):(?:\/\/)?(.*)$/i.exec(value);
    return m ? new Uri(m[1], m[2].startsWith('/') ? m[2] : `/${m[2]}`) : new Uri('file', value);
  }
  static file(path: string): Uri {
    return new Uri('file', path);
  }
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    return `${this.scheme}://${this.path}`;
  }
  toJSON(): string {
    return this.toString();
  }
}

export class MarkdownString {
  isTrusted = false;
  constructor(
    public value = '',
    public supportThemeIcons = false,
  ) {}
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export class InlineCompletionItem {
  constructor(
    public insertText: string | { value: string },
    public range?: Range,
    public command?: unknown,
  ) {}
}

export class InlineCompletionList {
  constructor(public items: InlineCompletionItem[]) {}
}

export class TextEdit {
  constructor(
    public range: Range,
    public newText: string,
  ) {}
}

export const StatusBarAlignment = { Left: 1, Right: 2 };
export const ProgressLocation = { SourceControl: 1, Window: 10, Notification: 15 };
export const ViewColumn = { Active: -1, Beside: -2, One: 1, Two: 2 };
export const InlineCompletionTriggerKind = { Invoke: 0, Automatic: 1 };
export const version = '1.90.0';

/** A value for APIs the harness does not model: callable, constructible, any property. */
export function inert(): any {
  const cache = new Map<PropertyKey, unknown>();
  return new Proxy(function () {}, {
    get(_t, prop) {
      if (prop === 'then') return undefined;
      if (prop === 'prototype') return Object.prototype;
      if (prop === Symbol.toPrimitive) return () => '';
      if (prop === Symbol.iterator) return function* () {};
      if (!cache.has(prop)) cache.set(prop, inert());
      return cache.get(prop);
    },
    apply: () => inert(),
    construct: () => inert(),
  });
}

const event = (): ((l: Listener<any>) => Disposable) => new EventEmitter<any>().event;

/** Everything the tests drive or inspect. */
export class Host {
  settings: Record<string, unknown> = {};
  messages: Array<{ level: 'info' | 'warning' | 'error'; text: string }> = [];
  statusMessages: string[] = [];
  outputLines: string[] = [];
  inputBoxAnswers: Array<string | undefined> = [];
  contexts: Record<string, unknown> = {};
  commands = new Map<string, (...args: any[]) => unknown>();
  inlineProviders: any[] = [];
  panels: Array<{ title: string; html: string; disposed: boolean }> = [];
  statusItems: Array<{ text: string; tooltip: any; backgroundColor: any; visible: boolean }> = [];
  activeTextEditor: any = undefined;
  /** vscode.workspace.isTrusted (Workspace Trust). */
  trusted = true;
  /** vscode.workspace.workspaceFolders. */
  workspaceFolders: Array<{ uri: Uri; name: string; index: number }> | undefined = undefined;
  /** Answers for showQuickPick, by label (undefined: dismissed). */
  quickPickAnswers: Array<string | undefined> = [];
  trustGranted = new EventEmitter<void>();
  configChanged = new EventEmitter<{ affectsConfiguration(section: string): boolean }>();

  /** Change settings and fire onDidChangeConfiguration for them, as VS Code does. */
  updateSettings(changes: Record<string, unknown>): void {
    Object.assign(this.settings, changes);
    const keys = Object.keys(changes);
    this.configChanged.fire({
      affectsConfiguration: (section) =>
        keys.some((k) => k === section || k.startsWith(`${section}.`) || section.startsWith(`${k}.`)),
    });
  }

  /** Remove settings (back to their defaults) and fire onDidChangeConfiguration. */
  removeSettings(keys: string[]): void {
    for (const key of keys) delete this.settings[key];
    this.configChanged.fire({
      affectsConfiguration: (section) =>
        keys.some((k) => k === section || k.startsWith(`${section}.`) || section.startsWith(`${k}.`)),
    });
  }

  /** Grant Workspace Trust, firing onDidGrantWorkspaceTrust as VS Code does. */
  grantTrust(): void {
    this.trusted = true;
    this.trustGranted.fire();
  }

  private get(full: string): unknown {
    if (full in this.settings) return this.settings[full];
    // Nested read (e.g. get('aurelis') for configuration sync): collect keys below it.
    const prefix = `${full}.`;
    const below = Object.keys(this.settings).filter((k) => k.startsWith(prefix));
    if (below.length === 0) return undefined;
    const out: Record<string, any> = {};
    for (const k of below) {
      const parts = k.slice(prefix.length).split('.');
      let node = out;
      for (const p of parts.slice(0, -1)) node = node[p] ??= {};
      node[parts[parts.length - 1]] = this.settings[k];
    }
    return out;
  }

  module(): Record<string, unknown> {
    const host = this;
    const configuration = (section?: string) => ({
      get: (key: string, fallback?: unknown) => {
        const value = host.get(section ? `${section}.${key}` : key);
        return value === undefined ? fallback : value;
      },
      has: (key: string) => host.get(section ? `${section}.${key}` : key) !== undefined,
      // Everything in `settings` counts as set by the user (globalValue); the rest is default.
      inspect: (key: string) => {
        const value = host.get(section ? `${section}.${key}` : key);
        return { key, globalValue: value };
      },
      update: async () => undefined,
    });
    const show = (level: 'info' | 'warning' | 'error') => (text: string) => {
      host.messages.push({ level, text });
      return Promise.resolve(undefined);
    };
    const api: Record<string, unknown> = {
      Disposable,
      EventEmitter,
      CancellationError,
      CancellationTokenSource,
      Position,
      Range,
      Selection,
      Uri,
      MarkdownString,
      ThemeColor,
      InlineCompletionItem,
      InlineCompletionList,
      TextEdit,
      StatusBarAlignment,
      ProgressLocation,
      ViewColumn,
      InlineCompletionTriggerKind,
      version,
      env: { appName: 'Fake Code', language: 'en', machineId: 'test', openExternal: async () => true },
      window: {
        get activeTextEditor() {
          return host.activeTextEditor;
        },
        visibleTextEditors: [],
        tabGroups: { all: [], onDidChangeTabs: event(), onDidChangeTabGroups: event() },
        onDidChangeActiveTextEditor: event(),
        onDidChangeVisibleTextEditors: event(),
        createOutputChannel: (name: string) => ({
          name,
          append: (s: string) => host.outputLines.push(s),
          appendLine: (s: string) => host.outputLines.push(s),
          replace: () => undefined,
          clear: () => undefined,
          show: () => undefined,
          hide: () => undefined,
          dispose: () => undefined,
        }),
        createStatusBarItem: () => {
          const item = {
            text: '',
            tooltip: undefined as any,
            backgroundColor: undefined as any,
            name: '',
            command: undefined as unknown,
            visible: false,
            show() {
              item.visible = true;
            },
            hide() {
              item.visible = false;
            },
            dispose() {
              item.visible = false;
            },
          };
          host.statusItems.push(item);
          return item;
        },
        showInformationMessage: show('info'),
        showWarningMessage: show('warning'),
        showErrorMessage: show('error'),
        showInputBox: async () => host.inputBoxAnswers.shift(),
        showQuickPick: async (items: Array<{ label: string }>) => {
          const label = host.quickPickAnswers.shift();
          return items.find((item) => item.label === label);
        },
        setStatusBarMessage: (text: string) => {
          host.statusMessages.push(text);
          return new Disposable(() => undefined);
        },
        withProgress: async (_options: unknown, task: (p: unknown, t: unknown) => unknown) =>
          task({ report: () => undefined }, new CancellationTokenSource().token),
        createWebviewPanel: (_type: string, title: string) => {
          const record = { title, html: '', disposed: false };
          host.panels.push(record);
          const disposed = new EventEmitter<void>();
          return {
            get title() {
              return record.title;
            },
            set title(t: string) {
              record.title = t;
            },
            webview: {
              cspSource: 'vscode-webview://fake',
              get html() {
                return record.html;
              },
              set html(h: string) {
                record.html = h;
              },
            },
            reveal: () => undefined,
            onDidDispose: disposed.event,
            dispose: () => {
              record.disposed = true;
              disposed.fire();
            },
          };
        },
      },
      commands: {
        registerCommand: (id: string, fn: (...args: any[]) => unknown) => {
          if (host.commands.has(id)) throw new Error(`command '${id}' already exists`);
          host.commands.set(id, fn);
          return new Disposable(() => host.commands.delete(id));
        },
        executeCommand: async (id: string, ...args: any[]) => {
          if (id === 'setContext') {
            host.contexts[args[0]] = args[1];
            return undefined;
          }
          if (id === 'markdown.api.render') {
            return `<div class="rendered">${String(args[0])}</div>`;
          }
          const fn = host.commands.get(id);
          if (fn === undefined) throw new Error(`command '${id}' not found`);
          return fn(...args);
        },
      },
      workspace: {
        get workspaceFolders() {
          return host.workspaceFolders;
        },
        get isTrusted() {
          return host.trusted;
        },
        onDidGrantWorkspaceTrust: host.trustGranted.event,
        textDocuments: [],
        notebookDocuments: [],
        getConfiguration: configuration,
        onDidChangeConfiguration: host.configChanged.event,
        onDidOpenTextDocument: event(),
        onDidCloseTextDocument: event(),
        onDidChangeTextDocument: event(),
        onDidSaveTextDocument: event(),
        onWillSaveTextDocument: event(),
        onDidChangeWorkspaceFolders: event(),
        onDidOpenNotebookDocument: event(),
        onDidCloseNotebookDocument: event(),
        onDidChangeNotebookDocument: event(),
        onDidSaveNotebookDocument: event(),
        onDidCreateFiles: event(),
        onDidRenameFiles: event(),
        onDidDeleteFiles: event(),
        onWillCreateFiles: event(),
        onWillRenameFiles: event(),
        onWillDeleteFiles: event(),
        createFileSystemWatcher: () => ({
          onDidCreate: event(),
          onDidChange: event(),
          onDidDelete: event(),
          dispose: () => undefined,
        }),
        applyEdit: async () => true,
      },
      languages: new Proxy(
        {
          match: () => 10,
          createDiagnosticCollection: () => inert(),
          registerInlineCompletionItemProvider: (selector: unknown, provider: unknown) => {
            const entry = { selector, provider };
            host.inlineProviders.push(entry);
            return new Disposable(() => {
              host.inlineProviders = host.inlineProviders.filter((p) => p !== entry);
            });
          },
        } as Record<string | symbol, unknown>,
        {
          // Any other register*Provider: accept and return a disposable.
          get: (target, prop) =>
            prop in target ? target[prop] : () => new Disposable(() => undefined),
        },
      ),
    };
    return new Proxy(api, {
      get: (target, prop) => (prop in target ? target[prop as string] : inert()),
    });
  }
}

/** Install `host` as the `vscode` module for every later `require('vscode')`. */
export function installFakeVscode(host: Host): () => void {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const Module = require('node:module') as {
    _load: (request: string, parent: unknown, isMain: boolean) => unknown;
  };
  const original = Module._load;
  const mod = host.module();
  Module._load = function (request, parent, isMain) {
    if (request === 'vscode') return mod;
    return original.call(this, request, parent, isMain);
  };
  return () => {
    Module._load = original;
  };
}
