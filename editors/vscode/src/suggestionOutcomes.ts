/**
 * Tells the Aurelis language server what became of its inline suggestions.
 *
 * Each item the server returns carries an id as the one argument of its command
 * (`aurelis.acceptSuggestion`, LSP 3.18 `InlineCompletionItem.command`); VS Code runs that
 * command when the user accepts the item, so accepts need nothing here. This module adds
 * the rest: `aurelis/didShowCompletion` when an item is shown and
 * `aurelis/didPartiallyAcceptCompletion` when a word or line of it is taken. VS Code
 * reports both through the inline provider's `handleDidShowCompletionItem` and
 * `handleDidPartiallyAcceptCompletionItem` hooks; the provider is the one
 * vscode-languageclient registers, so the hooks are added as it registers it
 * (`installSuggestionOutcomes`). Hosts that never call the show hook still count an item
 * as shown once it is handed to the editor (`delivered`): VS Code displays what a provider
 * returns unless the user has typed on. Each id is reported shown at most once.
 */

export const ACCEPT_COMMAND = 'aurelis.acceptSuggestion';
export const SHOWN_NOTIFICATION = 'aurelis/didShowCompletion';
export const PARTIAL_NOTIFICATION = 'aurelis/didPartiallyAcceptCompletion';
/** Ids remembered to report each item shown once (older ones are long off screen). */
const REMEMBERED = 256;

export type Notify = (method: string, params: Record<string, unknown>) => unknown;

interface CommandLike {
  command?: unknown;
  arguments?: unknown[];
}

/** The server's id for `item`, or undefined for an item that is not Aurelis's. */
export function suggestionId(item: unknown): string | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const command = (item as { command?: unknown }).command as CommandLike | undefined;
  if (typeof command !== 'object' || command === null) return undefined;
  if (command.command !== ACCEPT_COMMAND) return undefined;
  const id = command.arguments?.[0];
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** `acceptedLength` from either hook signature: a number, or `{ acceptedLength }`. */
function acceptedLength(info: unknown): number | undefined {
  const value =
    typeof info === 'number' ? info : (info as { acceptedLength?: unknown } | null)?.acceptedLength;
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

export class SuggestionOutcomes {
  private readonly shownIds = new Set<string>();

  constructor(private readonly notify: Notify) {}

  shown(item: unknown): void {
    const id = suggestionId(item);
    if (id === undefined || this.shownIds.has(id)) return;
    this.shownIds.add(id);
    if (this.shownIds.size > REMEMBERED) {
      const oldest = this.shownIds.values().next().value;
      if (oldest !== undefined) this.shownIds.delete(oldest);
    }
    this.send(SHOWN_NOTIFICATION, { id });
  }

  partiallyAccepted(item: unknown, info: unknown): void {
    const id = suggestionId(item);
    const length = acceptedLength(info);
    if (id === undefined || length === undefined) return;
    this.shown(item);
    this.send(PARTIAL_NOTIFICATION, { id, acceptedLength: length });
  }

  /** What the provider hands to the editor, passed through; its first item is shown. */
  delivered<T>(result: T): T {
    const items = Array.isArray(result) ? result : (result as { items?: unknown[] } | null)?.items;
    if (Array.isArray(items) && items.length > 0) this.shown(items[0]);
    return result;
  }

  /** `provider` with the show and partial-accept hooks (its own ones still run). */
  withHooks<P extends object>(provider: P): P {
    const own = provider as {
      handleDidShowCompletionItem?: (...args: unknown[]) => unknown;
      handleDidPartiallyAcceptCompletionItem?: (...args: unknown[]) => unknown;
    };
    const showBefore = own.handleDidShowCompletionItem?.bind(provider);
    const partialBefore = own.handleDidPartiallyAcceptCompletionItem?.bind(provider);
    own.handleDidShowCompletionItem = (item: unknown, ...rest: unknown[]) => {
      this.shown(item);
      return showBefore?.(item, ...rest);
    };
    own.handleDidPartiallyAcceptCompletionItem = (item: unknown, info: unknown, ...rest: unknown[]) => {
      this.partiallyAccepted(item, info);
      return partialBefore?.(item, info, ...rest);
    };
    return provider;
  }

  private send(method: string, params: Record<string, unknown>): void {
    try {
      const pending = this.notify(method, params);
      // A stopped client rejects: losing one count is fine, an unhandled rejection is not.
      if (pending instanceof Promise) pending.catch(() => undefined);
    } catch {
      // As above: reporting never breaks the editor.
    }
  }
}

interface LanguagesLike {
  registerInlineCompletionItemProvider: (selector: never, provider: never, ...rest: never[]) => unknown;
}

const ORIGINAL = Symbol('aurelis.registerInlineCompletionItemProvider');

/**
 * Give every inline provider registered from now on (the language client's) the hooks of
 * `outcomes`, by wrapping `languages.registerInlineCompletionItemProvider`. Installing
 * again (a restarted client) replaces the previous wrapper instead of stacking on it.
 * Returns the undo. A host whose API object is read-only keeps `delivered` only.
 */
export function installSuggestionOutcomes(
  languages: LanguagesLike,
  outcomes: SuggestionOutcomes,
): { dispose(): void } {
  const current = languages.registerInlineCompletionItemProvider as LanguagesLike['registerInlineCompletionItemProvider'] & {
    [ORIGINAL]?: LanguagesLike['registerInlineCompletionItemProvider'];
  };
  const register = current[ORIGINAL] ?? current;
  const wrapped = Object.assign(
    (selector: never, provider: never, ...rest: never[]) =>
      register.call(languages, selector, outcomes.withHooks(provider as object) as never, ...rest),
    { [ORIGINAL]: register },
  );
  try {
    languages.registerInlineCompletionItemProvider = wrapped;
  } catch {
    return { dispose: () => undefined };
  }
  return {
    dispose: () => {
      if (languages.registerInlineCompletionItemProvider === wrapped) {
        languages.registerInlineCompletionItemProvider = register;
      }
    },
  };
}
