/**
 * Secret values under names that do not look secret. Three layers, any of which makes a value a
 * Secret reference:
 * - passwords inside connection strings given as key=value (JDBC query parameters, libpq DSNs,
 *   .NET connection strings): only the password moves to a Secret, the rest stays readable;
 * - secretlint's recommended rule preset (@secretlint/secretlint-rule-preset-recommend, pinned in
 *   package.json): provider tokens, private keys, credentials in URLs;
 * - our own rules for what the preset leaves out (Bearer tokens, AWS access key ids, Slack
 *   webhook URLs) and, when unsure, a long random-looking token: better one Secret too many than
 *   a credential in a ConfigMap.
 */
import { lintSource } from '@secretlint/core';
import { creator as recommended } from '@secretlint/secretlint-rule-preset-recommend';

/** A password inside a connection string: where it is and which rule found it. */
export interface PasswordParam {
  readonly start: number;
  readonly end: number;
  readonly rule: string;
}

/**
 * `password=` (or `pwd=`) values in key=value connection strings. `$(`-references and secret
 * markers are already references, not values.
 */
export function passwordParams(value: string): PasswordParam[] {
  const out: PasswordParam[] = [];
  const add = (start: number, end: number, rule: string) => {
    const v = value.slice(start, end);
    if (v && !v.startsWith('$(') && !v.includes('\u0001')) out.push({ start, end, rule });
  };
  if (/^jdbc:/i.test(value)) {
    // jdbc:postgresql://db/app?user=a&password=x, jdbc:sqlserver://db;user=a;password=x
    for (const m of value.matchAll(/([?&;])(password|pwd)=([^&;]*)/gi)) add(m.index! + m[1].length + m[2].length + 1, m.index! + m[0].length, 'password= in a JDBC URL');
    return out;
  }
  if (/:\/\//.test(value)) {
    // URL query parameters: postgresql://db/app?password=x, mongodb://...?password=x
    for (const m of value.matchAll(/([?&])(password|pwd|pass)=([^&#]*)/gi)) add(m.index! + m[1].length + m[2].length + 1, m.index! + m[0].length, 'password= in a URL query');
    return out;
  }
  if (/(^|\s)(host|hostaddr|dbname|user|port)\s*=/i.test(value) && /(^|\s)password\s*=/i.test(value)) {
    // libpq: host=db dbname=app user=a password=x (quoted values may hold spaces)
    for (const m of value.matchAll(/(^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S*)/gi)) {
      const v = m[2];
      const start = m.index! + m[0].length - v.length;
      if (v.startsWith("'")) add(start + 1, start + v.length - 1, 'password= in a libpq connection string');
      else add(start, start + v.length, 'password= in a libpq connection string');
    }
    return out;
  }
  if (/(^|;)\s*(server|data source|host|database|initial catalog|user id|uid)\s*=/i.test(value)) {
    // .NET: Server=db;Database=app;User Id=a;Password=x;  (Pwd= as well)
    for (const m of value.matchAll(/(^|;)\s*(password|pwd)\s*=\s*([^;]*)/gi)) {
      const v = m[3].trim();
      const start = m.index! + m[0].length - m[3].length + m[3].indexOf(v);
      add(start, start + v.length, `${m[2]}= in a .NET connection string`);
    }
  }
  return out;
}

/** Our own rules over a whole value: the rule that matched, or undefined. */
export function ownRule(name: string, value: string): string | undefined {
  if (/^Bearer\s+\S{8,}/i.test(value) || /^(Basic|Token)\s+[A-Za-z0-9+/=._-]{8,}$/.test(value)) return 'Authorization header value (Bearer/Basic/Token)';
  if (/\b(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/.test(value)) return 'AWS access key id';
  if (/^https:\/\/hooks\.slack\.com\/(services|workflows|triggers)\/\S+/.test(value)) return 'Slack webhook URL';
  if (/^https:\/\/(discord(app)?\.com\/api\/webhooks|outlook\.office\.com\/webhook|[a-z0-9-]+\.webhook\.office\.com)\/\S+/i.test(value)) return 'chat webhook URL';
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value)) return 'private key';
  if (randomLooking(name, value)) return 'long random-looking token (unsure, so treated as a secret)';
  return undefined;
}

/** Identifiers, digests and versions: random-looking, but not secret. */
const NOT_SECRET_NAME = /(^|_)(IDS?|UUID|GUID|SHA|COMMIT|DIGEST|HASH|CHECKSUM|VERSION|REVISION|REV|REF|BUILD|TAG|IMAGE)$/i;

/**
 * A token nobody would type: a run of 20+ letters and digits (base64 or hex alphabet), mixing
 * both, with high per-character entropy. Words joined by separators (model names, hostnames,
 * UUIDs, image references) have short runs and stay plain.
 */
function randomLooking(name: string, value: string): boolean {
  if (/\s/.test(value) || value.length < 20 || NOT_SECRET_NAME.test(name)) return false;
  if (/^(\.{0,2}\/|~\/)/.test(value)) return false;
  const runs = value.match(/[A-Za-z0-9+/=]{20,}/g) ?? [];
  return runs.some((run) => {
    const body = run.replace(/[+/=]/g, '');
    if (body.length < 20 || !/[0-9]/.test(body) || !/[A-Za-z]/.test(body)) return false;
    // Path segments of a URL ("/api/v1/items") are not one token.
    if (run.includes('/') && run.split('/').every((seg) => seg.length < 20)) return false;
    return entropy(body) >= 3.5;
  });
}

function entropy(text: string): number {
  const counts = new Map<string, number>();
  for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) h -= (n / text.length) * Math.log2(n / text.length);
  return h;
}

/** A rule id as a reader knows it: "@secretlint/secretlint-rule-github" -> "secretlint github". */
function ruleName(id: string, messageId: string): string {
  return `secretlint ${id.replace(/^@secretlint\/secretlint-rule-/, '')} (${messageId})`;
}

/**
 * Scans `NAME=value` pairs; returns, for each value found to be (or to hold) a secret, the rule
 * that said so. Values are scanned in memory only; nothing is printed or written.
 */
export async function scanValues(pairs: readonly (readonly [string, string])[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  // One value per line (a newline inside a value would split it); markers are references, not values.
  const lines = pairs.filter(([, v]) => !v.includes('\u0001')).map(([n, v]) => [n, v.replace(/[\r\n]/g, ' '), v] as const);
  if (lines.length > 0) {
    const starts: number[] = [];
    let at = 0;
    for (const [n, v] of lines) {
      starts.push(at);
      at += n.length + 1 + v.length + 1;
    }
    const result = await lintSource({
      source: { content: lines.map(([n, v]) => `${n}=${v}`).join('\n'), filePath: 'compose-values.env', ext: '.env', contentType: 'text' },
      options: { config: { rules: [{ id: recommended.meta.id, rule: recommended as never }] }, maskSecrets: true },
    });
    for (const m of result.messages) {
      // The line the finding starts on.
      let i = starts.length - 1;
      while (i > 0 && starts[i] > m.range[0]) i--;
      if (!found.has(lines[i][2])) found.set(lines[i][2], ruleName(m.ruleId, m.messageId));
    }
  }
  // The maintained rules name what they find; ours cover the rest.
  for (const [name, value] of pairs) {
    if (value.includes('\u0001') || found.has(value)) continue;
    const own = ownRule(name, value);
    if (own) found.set(value, own);
  }
  return found;
}

/**
 * Configuration files (mounted from the project) that hold a secret by the maintained rules; our
 * own rules are for single values and would misread free-form configuration. Returns path -> rule.
 */
export async function scanFiles(files: readonly (readonly [string, string])[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const [path, text] of files) {
    const ext = /\.[A-Za-z0-9]+$/.exec(path)?.[0] ?? '';
    const result = await lintSource({
      source: { content: text, filePath: path, ext, contentType: 'text' },
      options: { config: { rules: [{ id: recommended.meta.id, rule: recommended as never }] }, maskSecrets: true },
    });
    const m = result.messages[0];
    if (m) found.set(path, ruleName(m.ruleId, m.messageId));
  }
  return found;
}
