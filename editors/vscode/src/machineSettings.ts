/**
 * Machine-scoped settings found where VS Code ignores them.
 *
 * The settings that choose what runs or where code goes are machine-scoped, and VS Code
 * honours them only in User settings, or, in a remote-style window (code-server, SSH, WSL,
 * Codespaces), only in the Remote/Machine settings. Set anywhere else they are dropped
 * without a word and the server starts with the defaults ("`aurelis` was not found").
 * This module reads the settings files the user may have used and names each value
 * VS Code did not apply, so the extension can say where it belongs.
 */

import { MACHINE_SCOPED_SETTINGS } from './trust';

export interface SettingsFile {
  /** Where it is, for the message ("User settings", "workspace folder app"). */
  readonly label: string;
  readonly path: string;
  /** The file's text (JSON with comments, as VS Code writes it). */
  readonly text: string;
}

export interface IgnoredSetting {
  /** Full key, e.g. `aurelis.server.command`. */
  readonly key: string;
  readonly file: SettingsFile;
}

/** JSON with comments and trailing commas (VS Code's settings format) as plain JSON. */
export function stripJsonComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else {
      out += c;
    }
  }
  return out.replace(/,(\s*[}\]])/g, '$1');
}

/** The settings object in a file, or undefined when it is not valid JSON(C). */
export function parseSettings(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(stripJsonComments(text));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Machine-scoped `aurelis.*` values in `files` that VS Code did not apply: the effective
 * value (`effective(key)`, what `getConfiguration().get` returns) differs from the file's.
 */
export function ignoredMachineSettings(
  files: readonly SettingsFile[],
  effective: (key: string) => unknown,
): IgnoredSetting[] {
  const found: IgnoredSetting[] = [];
  for (const file of files) {
    const settings = parseSettings(file.text);
    if (settings === undefined) continue;
    for (const name of MACHINE_SCOPED_SETTINGS) {
      const key = `aurelis.${name}`;
      if (key in settings && !sameJson(settings[key], effective(name))) found.push({ key, file });
    }
  }
  return found;
}

/** One warning for everything found, or undefined when nothing was ignored. */
export function ignoredSettingsMessage(ignored: readonly IgnoredSetting[], remote: boolean): string | undefined {
  if (ignored.length === 0) return undefined;
  const where = [...new Set(ignored.map((i) => `\`${i.key}\` in ${i.file.label} (${i.file.path})`))];
  const home = remote
    ? 'the Remote (Machine) settings: run "Preferences: Open Remote Settings (JSON)"'
    : 'your User settings: run "Preferences: Open User Settings (JSON)"';
  return (
    `Aurelis: VS Code ignores ${where.join(', ')}: these machine-scoped settings choose what ` +
    `runs or where your code goes, so they only count in ${home}.`
  );
}
