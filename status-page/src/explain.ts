import { byId, element } from './dom.js';
import { keyPath } from './key-path.js';

/** Fields shown first, in this order, with their labels; the rest follow as they come. */
const LEADING_FIELDS: readonly (readonly [field: string, label: string])[] = [
  ['key', 'Key'],
  ['tenantId', 'Tenant'],
  ['generation', 'Generation'],
  ['binding', 'Binding'],
  ['stateVersions', 'State version'],
  ['lastEnvId', 'Last environment'],
];

type ExplainState = 'idle' | 'ok' | 'error';

interface GatewayError {
  readonly code: string;
  readonly message: string;
}

function readGatewayError(body: unknown, response: Response): GatewayError {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const { error } = body;
    if (typeof error === 'object' && error !== null && 'code' in error && 'message' in error) {
      return { code: String(error.code), message: String(error.message) };
    }
  }
  return {
    code: `HTTP_${response.status}`,
    message: response.statusText === '' ? 'the gateway refused the request' : response.statusText,
  };
}

function describe(value: unknown): string {
  if (value === undefined || value === null) return '—';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return '—';
    if (entries.every(([, v]) => typeof v !== 'object' || v === null)) {
      return entries.map(([k, v]) => `${k}: ${String(v)}`).join(', ');
    }
  }
  return JSON.stringify(value);
}

/**
 * "Explain a key": asks the admin route what the directory knows of one key.
 * The admin token is read from its input at submit into a local variable and
 * sent only in that request's Authorization header; the page never stores it
 * (no storage, cookie or URL), and without it the page never asks. A key
 * whose path a URL parser would rewrite is never sent (key-path.ts): the
 * token would go to another route.
 */
export class ExplainBox {
  private readonly form = byId('explain', HTMLFormElement);
  private readonly keyInput = byId('explain-key', HTMLInputElement);
  private readonly tokenInput = byId('explain-token', HTMLInputElement);
  private readonly submit = byId('explain-submit', HTMLButtonElement);
  private readonly result = byId('explain-result');
  private pending: AbortController | undefined;

  constructor() {
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.explain();
    });
    // index.html ships the button disabled so that a submit before this script runs cannot
    // fall back to a native GET that would put the token in the URL.
    this.submit.disabled = false;
    this.show('idle', []);
  }

  private async explain(): Promise<void> {
    const key = this.keyInput.value;
    const token = this.tokenInput.value;
    const target = keyPath(key, window.location.origin);
    if (!target.ok) {
      this.showError(target);
      return;
    }
    if (token === '') {
      this.showError({
        code: 'WR_PAGE_TOKEN_REQUIRED',
        message:
          'The admin token is needed to explain a key; the page never shows keys without it.',
      });
      return;
    }
    this.pending?.abort();
    const controller = new AbortController();
    this.pending = controller;
    this.result.setAttribute('aria-busy', 'true');
    try {
      const response = await fetch(target.path, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        cache: 'no-store',
        credentials: 'same-origin',
        signal: controller.signal,
      });
      const body: unknown = await response.json().catch(() => undefined);
      if (controller !== this.pending) return;
      if (!response.ok) {
        this.showError(readGatewayError(body, response));
      } else if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        this.showError({
          code: 'WR_PAGE_BAD_ANSWER',
          message: 'The gateway answered no key record.',
        });
      } else {
        this.showRecord(body as Record<string, unknown>);
      }
    } catch (err) {
      if (controller !== this.pending) return;
      this.showError({
        code: 'WR_PAGE_NETWORK',
        message: `Cannot reach the gateway (${err instanceof Error ? err.message : 'network error'}).`,
      });
    } finally {
      if (controller === this.pending) {
        this.pending = undefined;
        this.result.removeAttribute('aria-busy');
      }
    }
  }

  private showRecord(record: Record<string, unknown>): void {
    const leading = new Set(LEADING_FIELDS.map(([field]) => field));
    const rows = [
      ...LEADING_FIELDS.map(([field, label]) => this.row(field, label, record[field])),
      ...Object.entries(record)
        .filter(([field]) => !leading.has(field))
        .map(([field, value]) => this.row(field, field, value)),
    ];
    this.show('ok', rows);
  }

  private showError(error: GatewayError): void {
    this.show('error', [
      this.row('code', 'Error', error.code),
      this.row('message', 'Message', error.message),
    ]);
  }

  private row(field: string, label: string, value: unknown): HTMLElement {
    const row = element('div', undefined, 'kv');
    const name = element('dt', label);
    const cell = element('dd', describe(value));
    cell.dataset.field = field;
    row.append(name, cell);
    return row;
  }

  private show(state: ExplainState, rows: HTMLElement[]): void {
    this.result.dataset.state = state;
    const list = element('dl');
    list.append(...rows);
    this.result.replaceChildren(...(rows.length === 0 ? [] : [list]));
  }
}
