/**
 * Status bar rendering for the `aurelis/status` server notification.
 *
 * Notification params (sent by the server whenever any of it changes):
 *
 *   { provider: string, endpoint: string | null, offline: boolean, busy: boolean,
 *     last_error: string | null,
 *     models: { [name]: { healthy: boolean, breaker: "closed" | "open" | "half_open",
 *                         rate_limit_remaining: number | null } } }
 */

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface ModelStatus {
  healthy: boolean;
  breaker: BreakerState;
  rate_limit_remaining: number | null;
}

export interface StatusParams {
  provider: string;
  endpoint: string | null;
  offline: boolean;
  busy: boolean;
  last_error: string | null;
  models: { [name: string]: ModelStatus };
}

/** Where the language client itself is; the server can only report once it runs. */
export type ClientState = 'starting' | 'running' | 'stopped';

export type StatusSeverity = 'normal' | 'warning' | 'error';

export interface StatusView {
  /** Status bar text, with `$(icon)` codicons. */
  text: string;
  /** Markdown for the hover. */
  tooltip: string;
  severity: StatusSeverity;
}

/** Escape text from the server so it shows literally inside Markdown. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~&$]/g, (c) => `\\${c}`).replace(/\r?\n/g, '  \n');
}

function describeModel(name: string, m: ModelStatus): string {
  const health = m.healthy ? '$(check) healthy' : '$(error) unhealthy';
  const breaker =
    m.breaker === 'closed' ? '' : m.breaker === 'open' ? ', breaker open' : ', breaker half-open';
  const remaining =
    m.rate_limit_remaining === null || m.rate_limit_remaining === undefined
      ? ''
      : `, ${m.rate_limit_remaining} requests left`;
  return `- \`${name.replace(/`/g, "'")}\`: ${health}${breaker}${remaining}`;
}

/**
 * Check that an untrusted notification payload has the documented shape, filling safe
 * defaults for missing optional parts. Returns undefined when it is not an object.
 */
export function parseStatusParams(raw: unknown): StatusParams | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  const models: { [name: string]: ModelStatus } = {};
  if (r.models !== null && typeof r.models === 'object' && !Array.isArray(r.models)) {
    for (const [name, value] of Object.entries(r.models as Record<string, unknown>)) {
      if (value === null || typeof value !== 'object') continue;
      const v = value as Record<string, unknown>;
      const breaker: BreakerState =
        v.breaker === 'open' || v.breaker === 'half_open' ? v.breaker : 'closed';
      models[name] = {
        healthy: v.healthy !== false,
        breaker,
        rate_limit_remaining:
          typeof v.rate_limit_remaining === 'number' ? v.rate_limit_remaining : null,
      };
    }
  }
  return {
    provider: typeof r.provider === 'string' && r.provider !== '' ? r.provider : 'unknown',
    endpoint: typeof r.endpoint === 'string' && r.endpoint !== '' ? r.endpoint : null,
    offline: r.offline === true,
    busy: r.busy === true,
    last_error: typeof r.last_error === 'string' && r.last_error !== '' ? r.last_error : null,
    models,
  };
}

const CLICK_HINT = '_Click to show the Aurelis output._';

/**
 * Render the status bar item from the client state and the last status notification.
 * `failure` says why a stopped server stopped (exit code, last line of its stderr).
 */
export function renderStatus(
  client: ClientState,
  status: StatusParams | undefined,
  failure?: string,
): StatusView {
  if (client === 'stopped') {
    const why = failure === undefined ? '' : `\n\n${escapeMarkdown(failure)}`;
    return {
      text: '$(circle-slash) Aurelis',
      tooltip: `**Aurelis**: the language server is not running.${why}\n\n${CLICK_HINT}`,
      severity: 'error',
    };
  }
  if (client === 'starting' || status === undefined) {
    return {
      text: '$(loading~spin) Aurelis',
      tooltip: `**Aurelis**: starting the language server…\n\n${CLICK_HINT}`,
      severity: 'normal',
    };
  }

  const lines: string[] = ['**Aurelis**', ''];
  lines.push(`- Provider: \`${status.provider.replace(/`/g, "'")}\``);
  lines.push(
    `- Endpoint: ${
      status.endpoint === null ? 'none (embedded local model)' : `\`${status.endpoint.replace(/`/g, "'")}\``
    }`,
  );
  if (status.offline) lines.push('- Offline: using the local model');
  if (status.busy) lines.push('- Working on a request…');
  const names = Object.keys(status.models).sort();
  if (names.length > 0) {
    lines.push('', '**Models**', '');
    for (const name of names) lines.push(describeModel(name, status.models[name]));
  }
  if (status.last_error !== null) {
    lines.push('', '**Last error**', '', escapeMarkdown(status.last_error));
  }
  lines.push('', CLICK_HINT);
  const tooltip = lines.join('\n');

  if (status.busy) {
    return { text: '$(sync~spin) Aurelis', tooltip, severity: 'normal' };
  }
  if (status.last_error !== null) {
    return { text: '$(warning) Aurelis', tooltip, severity: 'warning' };
  }
  const label =
    status.offline && status.provider !== 'local'
      ? `${status.provider} (offline)`
      : status.provider;
  return { text: `$(sparkle) Aurelis: ${label}`, tooltip, severity: 'normal' };
}
