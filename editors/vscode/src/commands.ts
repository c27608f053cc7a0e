/**
 * The editor commands Aurelis offers, and how each one talks to the server.
 *
 * Every command is forwarded as `workspace/executeCommand` with the server command of
 * the same name (`aurelis.generate`, ...). The palette / context-menu ids are
 * `aurelis.client.<name>` because vscode-languageclient registers a VS Code command for
 * every id the server lists in `executeCommandProvider.commands`; declaring
 * `aurelis.generate` ourselves as well would make `registerCommand` throw
 * "command already exists" as soon as the server starts. The auto-registered ids are
 * still needed (code actions from the server name them), so we keep them and only
 * intercept their results in middleware.
 */

/** How a command asks the user for a free-text instruction. */
export type InstructionPrompt = 'none' | 'required' | 'optional';

/** What the server answers: `{markdown}` for read-only commands, `{applied, message?}` otherwise. */
export type ResultKind = 'markdown' | 'edit';

export interface CommandSpec {
  /** Name after the `aurelis.` prefix. */
  readonly name: string;
  /** Server command id (`workspace/executeCommand` `command`). */
  readonly serverCommand: string;
  /** Client command id shown in the palette and the editor context menu. */
  readonly clientCommand: string;
  /** Palette title (category "Aurelis" is added by package.json). */
  readonly title: string;
  readonly prompt: InstructionPrompt;
  /** Input box text when `prompt` is not 'none'. */
  readonly promptText?: string;
  readonly placeholder?: string;
  readonly result: ResultKind;
  /** Title of the panel that shows a markdown result. */
  readonly panelTitle?: string;
  /** Shown while the request runs. */
  readonly progressTitle: string;
}

export const SERVER_PREFIX = 'aurelis.';
export const CLIENT_PREFIX = 'aurelis.client.';

function spec(
  name: string,
  title: string,
  rest: Omit<CommandSpec, 'name' | 'serverCommand' | 'clientCommand' | 'title'>,
): CommandSpec {
  return Object.freeze({
    name,
    serverCommand: SERVER_PREFIX + name,
    clientCommand: CLIENT_PREFIX + name,
    title,
    ...rest,
  });
}

export const COMMANDS: readonly CommandSpec[] = Object.freeze([
  spec('generate', 'Generate Code', {
    prompt: 'required',
    promptText: 'Aurelis: what code should be generated here?',
    placeholder: 'e.g. a function that parses ISO-8601 durations',
    result: 'edit',
    progressTitle: 'Aurelis: generating code…',
  }),
  spec('document', 'Add Documentation', {
    prompt: 'none',
    result: 'edit',
    progressTitle: 'Aurelis: writing documentation…',
  }),
  spec('refactor', 'Refactor', {
    prompt: 'optional',
    promptText: 'Aurelis: how should this be refactored? (leave empty to let Aurelis decide)',
    placeholder: 'e.g. extract the loop body into a helper',
    result: 'edit',
    progressTitle: 'Aurelis: refactoring…',
  }),
  spec('optimize', 'Optimize', {
    prompt: 'none',
    result: 'edit',
    progressTitle: 'Aurelis: optimizing…',
  }),
  spec('addErrorHandling', 'Add Error Handling', {
    prompt: 'none',
    result: 'edit',
    progressTitle: 'Aurelis: adding error handling…',
  }),
  spec('generateTests', 'Generate Tests', {
    prompt: 'none',
    result: 'edit',
    progressTitle: 'Aurelis: generating tests…',
  }),
  spec('explain', 'Explain Code', {
    prompt: 'none',
    result: 'markdown',
    panelTitle: 'Aurelis: Explanation',
    progressTitle: 'Aurelis: explaining…',
  }),
  spec('analyze', 'Analyze Code', {
    prompt: 'none',
    result: 'markdown',
    panelTitle: 'Aurelis: Analysis',
    progressTitle: 'Aurelis: analyzing…',
  }),
]);

/** The spec for a server command id (`aurelis.explain`), or undefined for ids we don't know. */
export function specForServerCommand(command: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.serverCommand === command);
}

/** Outcome of the instruction prompt, decided from what the input box returned. */
export type InstructionOutcome =
  | { readonly proceed: true; readonly instruction?: string }
  | { readonly proceed: false; readonly reason: 'cancelled' | 'empty' };

/**
 * Turn the input box's answer into a decision. `undefined` means the user pressed Escape,
 * which cancels the command for both required and optional prompts; an empty answer is
 * fine for an optional prompt (no `instruction` is sent) and refused for a required one.
 */
export function resolveInstruction(
  prompt: InstructionPrompt,
  answer: string | undefined,
): InstructionOutcome {
  if (prompt === 'none') return { proceed: true };
  if (answer === undefined) return { proceed: false, reason: 'cancelled' };
  const trimmed = answer.trim();
  if (trimmed === '') {
    return prompt === 'required' ? { proceed: false, reason: 'empty' } : { proceed: true };
  }
  return { proceed: true, instruction: trimmed };
}
