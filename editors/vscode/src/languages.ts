/**
 * Languages the client attaches the server to. `package.json` lists the same ids as
 * `onLanguage:` activation events; a unit test keeps the two in step.
 *
 * Deliberately code languages only: attaching an AI completer to plain text, logs or
 * Markdown is the "triggers too eagerly" complaint users have about other assistants.
 */
export const SUPPORTED_LANGUAGES: readonly string[] = Object.freeze([
  'python',
  'javascript',
  'javascriptreact',
  'typescript',
  'typescriptreact',
  'go',
  'rust',
  'java',
  'kotlin',
  'c',
  'cpp',
  'csharp',
  'ruby',
  'php',
  'lua',
  'shellscript',
  'swift',
  'scala',
]);

/** URI schemes the server can read: saved files and unsaved (untitled) buffers. */
export const SUPPORTED_SCHEMES: readonly string[] = Object.freeze(['file', 'untitled']);

export interface DocumentFilter {
  readonly scheme: string;
  readonly language: string;
}

/** The client's document selector: every supported language on every supported scheme. */
export function documentSelector(
  languages: readonly string[] = SUPPORTED_LANGUAGES,
  schemes: readonly string[] = SUPPORTED_SCHEMES,
): DocumentFilter[] {
  return schemes.flatMap((scheme) => languages.map((language) => ({ scheme, language })));
}
