/**
 * The editor commands (palette, context menu, keybindings): ask for an instruction when
 * the command takes one, snapshot the editor, send the server command and show the result.
 */

import * as vscode from 'vscode';
import { ExecuteCommandRequest } from 'vscode-languageclient/node';

import type { ServerClient } from './client';
import { buildCommandArguments, CommandArguments, EditorSnapshot } from './commandArgs';
import { COMMANDS, CommandSpec, resolveInstruction } from './commands';
import { errorMessage, presentResult } from './results';
import { ResultsPanel } from './resultsPanel';

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

/** Ask for the instruction (if the command takes one) and build the argument object. */
export async function argumentsFromEditor(spec: CommandSpec): Promise<CommandArguments | undefined> {
  const editor = vscode.window.activeTextEditor;
  if (editor === undefined) {
    void vscode.window.showInformationMessage(`Aurelis: open a file to use ${spec.title}.`);
    return undefined;
  }
  let instruction: string | undefined;
  if (spec.prompt !== 'none') {
    const answer = await vscode.window.showInputBox({
      title: `Aurelis: ${spec.title}`,
      prompt: spec.promptText,
      placeHolder: spec.placeholder,
      ignoreFocusOut: true,
    });
    const outcome = resolveInstruction(spec.prompt, answer);
    if (!outcome.proceed) {
      if (outcome.reason === 'empty') {
        void vscode.window.showInformationMessage(`Aurelis: ${spec.title} needs an instruction.`);
      }
      return undefined;
    }
    instruction = outcome.instruction;
  }
  // Snapshot after the prompt: the cursor or text may have moved while it was open.
  return buildCommandArguments(snapshot(editor), instruction);
}

/** Register every editor command; each talks to the server directly. */
export function registerEditorCommands(
  server: ServerClient,
  results: ResultsPanel,
  output: vscode.OutputChannel,
): vscode.Disposable[] {
  return COMMANDS.map((spec) =>
    vscode.commands.registerCommand(spec.clientCommand, () =>
      runFromEditor(spec, server, results, output),
    ),
  );
}

async function runFromEditor(
  spec: CommandSpec,
  server: ServerClient,
  results: ResultsPanel,
  output: vscode.OutputChannel,
): Promise<void> {
  const args = await argumentsFromEditor(spec);
  if (args === undefined) return;
  const running = await server.running();
  if (running.client === undefined) {
    if (!running.told) {
      void vscode.window.showErrorMessage(
        'Aurelis: the language server is not running. See the Aurelis output for why.',
      );
    }
    return;
  }
  const client = running.client;
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
        if (message !== undefined) {
          output.appendLine(`[client] ${message}`);
          void vscode.window.showErrorMessage(message);
        }
      }
    },
  );
}
