/**
 * What to show for a server command's result.
 *
 *   explain / analyze → { markdown: string }              shown rendered in a panel
 *   other commands    → { applied: boolean, message?: string }
 *                        applied false + message → information message
 *                        applied true  + message → transient status bar message
 *                        (the edit itself arrives separately as workspace/applyEdit)
 */

import type { CommandSpec } from './commands';

export type Presentation =
  | { readonly kind: 'markdown'; readonly title: string; readonly markdown: string }
  | { readonly kind: 'info'; readonly message: string }
  | { readonly kind: 'status'; readonly message: string }
  | { readonly kind: 'warning'; readonly message: string }
  | { readonly kind: 'none' };

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** Decide how to present `result`, the response of `workspace/executeCommand` for `spec`. */
export function presentResult(spec: CommandSpec, result: unknown): Presentation {
  if (result === null || result === undefined) {
    // A failed request was already reported by the language client; nothing more to say.
    return { kind: 'none' };
  }
  if (spec.result === 'markdown') {
    if (isObject(result) && typeof result.markdown === 'string') {
      if (result.markdown.trim() === '') {
        return { kind: 'info', message: `Aurelis: ${spec.title} returned nothing to show.` };
      }
      return {
        kind: 'markdown',
        title: spec.panelTitle ?? `Aurelis: ${spec.title}`,
        markdown: result.markdown,
      };
    }
    return {
      kind: 'warning',
      message: `Aurelis: unexpected answer from the server for ${spec.serverCommand}.`,
    };
  }
  if (isObject(result) && typeof result.applied === 'boolean') {
    const message = text(result.message);
    if (message === undefined) return { kind: 'none' };
    return result.applied ? { kind: 'status', message } : { kind: 'info', message };
  }
  return {
    kind: 'warning',
    message: `Aurelis: unexpected answer from the server for ${spec.serverCommand}.`,
  };
}

/** LSP error code for a request the client cancelled: not worth a message. */
export const REQUEST_CANCELLED = -32800;
/** LSP error code for a request the server cancelled (e.g. superseded). */
export const SERVER_CANCELLED = -32802;

/** Message for a failed executeCommand request, or undefined when it should stay silent. */
export function errorMessage(spec: CommandSpec, error: unknown): string | undefined {
  if (isObject(error) || error instanceof Error) {
    const e = error as { code?: unknown; message?: unknown };
    if (e.code === REQUEST_CANCELLED || e.code === SERVER_CANCELLED) return undefined;
    const message = text(e.message);
    if (message !== undefined) return `Aurelis: ${spec.title} failed: ${message}`;
  }
  return `Aurelis: ${spec.title} failed.`;
}
