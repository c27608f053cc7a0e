/**
 * The single argument object sent with every `workspace/executeCommand` request:
 *
 *   { uri, version, position, range?, instruction? }
 *
 * `position` is the cursor (the selection's active end) and is always present;
 * `range` is the selection and is present only when the selection is not empty;
 * `version` is the document version the client last synced, so the server can refuse to
 * edit text that changed under it.
 */

export interface Position {
  readonly line: number;
  readonly character: number;
}

export interface Range {
  readonly start: Position;
  readonly end: Position;
}

/** What the extension reads from `vscode.window.activeTextEditor`, as plain data. */
export interface EditorSnapshot {
  readonly uri: string;
  readonly version: number;
  /** Primary selection; `anchor` is where it started, `active` is the cursor. */
  readonly selection: { readonly anchor: Position; readonly active: Position };
}

export interface CommandArguments {
  uri: string;
  version: number;
  position: Position;
  range?: Range;
  instruction?: string;
}

function comparePositions(a: Position, b: Position): number {
  return a.line !== b.line ? a.line - b.line : a.character - b.character;
}

function copy(p: Position): Position {
  return { line: p.line, character: p.character };
}

/** Build the argument object from an editor snapshot (and an optional instruction). */
export function buildCommandArguments(
  editor: EditorSnapshot,
  instruction?: string,
): CommandArguments {
  const { anchor, active } = editor.selection;
  const args: CommandArguments = {
    uri: editor.uri,
    version: editor.version,
    position: copy(active),
  };
  const order = comparePositions(anchor, active);
  if (order !== 0) {
    // A selection made upwards has its anchor after the cursor; LSP ranges are ordered.
    const [start, end] = order < 0 ? [anchor, active] : [active, anchor];
    args.range = { start: copy(start), end: copy(end) };
  }
  if (instruction !== undefined && instruction !== '') {
    args.instruction = instruction;
  }
  return args;
}
