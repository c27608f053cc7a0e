/**
 * The editor commands (palette, context menu) and the results of server commands run from
 * code actions: both build the one argument object from the active editor and show what
 * the server answered.
 */

import * as vscode from 'vscode';
import { ExecuteCommandRequest, Middleware } from 'vscode-languageclient/node';

import { buildCommandArguments, CommandArguments, EditorSnapshot } from './commandArgs';
import { COMMANDS, CommandSpec, resolveInstruction, specForServerCommand } from './commands';
import { errorMessage, presentResult } from './results';
import { ResultsPanel } from './resultsPanel';
import { AurelisServer } from './serverClient';

function snapshot(editor: vscode.TextEditor): EditorSnapshot {
  const { anchor, active } = editor.selection;
  return {
    uri: editor.document.uri.toString(),
    version: editor.document.version,
    selection: {
      anchor: { line: anchor.line, character: anchor.character },
      active: { line: active.line, character: active.character },
    },
  };
}

/** The instruction for `spec`: undefined when none is needed, null when the user gave up. */
async function askInstruction(spec: CommandSpec): Promise<string | undefined | null> {
  if (spec.prompt === 'none') return undefined;
  const answer = await vscode.window.showInputBox({
    title: `Aurelis: ${spec.title}`,
    prompt: spec.promptText,
    placeHolder: spec.placeholder,
    ignoreFocusOut: true,
  });
  const outcome = resolveInstruction(spec.prompt, answer);
  if (outcome.proceed) return outcome.instruction;
  if (outcome.reason === 'empty') {
    void vscode.window.showInformationMessage(`Aurelis: ${spec.title} needs an instruction.`);
  }
  return null;
}

/** Ask for the instruction (if the command takes one) and build the argument object. */
export async function argumentsFromEditor(spec: CommandSpec): Promise<CommandArguments | undefined> {
  const editor = vscode.window.activeTextEditor;
  if (editor === undefined) {
    void vscode.window.showInformationMessage(`Aurelis: open a file to use ${spec.title}.`);
    return undefined;
  }
  const instruction = await askInstruction(spec);
  if (instruction === null) return undefined;
  // Snapshot after the prompt: the cursor or text may have moved while it was open.
  return buildCommandArguments(snapshot(editor), instruction);
}

/**
 * Middleware for the `aurelis.*` ids the language client registers (code actions run them):
 * fill in the arguments when none came, and show the result.
 */
export function serverCommandMiddleware(results: ResultsPanel): Middleware['executeCommand'] {
  return async (command, args, next) => {
    const spec = specForServerCommand(command);
    if (spec === undefined) return next(command, args);
    let callArgs = args;
    if (callArgs.length === 0) {
      const built = await argumentsFromEditor(spec);
      if (built === undefined) return undefined;
      callArgs = [built];
    }
    const result: unknown = await next(command, callArgs);
    await results.present(presentResult(spec, result));
    return result;
  };
}

/** Palette / context-menu entry: talk to the server directly, then show the result. */
async function runFromEditor(
  spec: CommandSpec,
  server: AurelisServer,
  results: ResultsPanel,
  output: vscode.OutputChannel,
): Promise<void> {
  const args = await argumentsFromEditor(spec);
  if (args === undefined) return;
  const client = await server.ready();
  if (client === undefined) return;
  await vscode.window.withProgress(
    // Window location: a quiet spinner in the status bar. Long server work reports
    // its own cancellable $/progress, which the language client shows.
    { location: vscode.ProgressLocation.Window, title: spec.progressTitle },
    async () => {
      try {
        const result: unknown = await client.sendRequest(ExecuteCommandRequest.type, {
          command: spec.serverCommand,
          arguments: [args],
        });
        await results.present(presentResult(spec, result));
      } catch (error) {
        const message = errorMessage(spec, error);
        if (message === undefined) return;
        output.appendLine(`[client] ${message}`);
        void vscode.window.showErrorMessage(message);
      }
    },
  );
}

export function registerEditorCommands(
  server: AurelisServer,
  results: ResultsPanel,
  output: vscode.OutputChannel,
): vscode.Disposable[] {
  return COMMANDS.map((spec) =>
    vscode.commands.registerCommand(spec.clientCommand, () => runFromEditor(spec, server, results, output)),
  );
}
