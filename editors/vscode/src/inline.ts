/**
 * Client-side gate for inline completions (`textDocument/inlineCompletion`).
 *
 * The language client forwards every request VS Code makes. Here we (1) drop requests
 * when `aurelis.inlineCompletion.enabled` is false, and (2) wait
 * `aurelis.inlineCompletion.debounceMs` before sending an *automatic* request, skipping it
 * if VS Code cancelled it meanwhile (the user typed on). Explicit (invoked) requests are
 * sent at once.
 */

/** Mirrors `vscode.InlineCompletionTriggerKind` (Invoke = 0, Automatic = 1). */
export const TRIGGER_INVOKE = 0;
export const TRIGGER_AUTOMATIC = 1;

export const MAX_DEBOUNCE_MS = 2000;

/** Milliseconds to wait before sending a request with this trigger kind. */
export function debounceDelay(triggerKind: number, debounceMs: unknown): number {
  if (triggerKind === TRIGGER_INVOKE) return 0;
  if (typeof debounceMs !== 'number' || !Number.isFinite(debounceMs) || debounceMs <= 0) return 0;
  return Math.min(Math.round(debounceMs), MAX_DEBOUNCE_MS);
}

/** The part of `vscode.CancellationToken` this module needs. */
export interface CancellationLike {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): { dispose(): void };
}

/**
 * Wait `ms`, resolving true if the wait ran out and false as soon as `token` is cancelled.
 */
export function waitUnlessCancelled(ms: number, token: CancellationLike): Promise<boolean> {
  if (token.isCancellationRequested) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    let subscription: { dispose(): void } | undefined;
    const timer = setTimeout(() => {
      subscription?.dispose();
      resolve(!token.isCancellationRequested);
    }, ms);
    subscription = token.onCancellationRequested(() => {
      clearTimeout(timer);
      subscription?.dispose();
      resolve(false);
    });
  });
}
