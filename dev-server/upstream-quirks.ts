// The security middleware of upstream llm-config-server on /api/v1/*, reproduced so
// that `--upstream-strict` tests the agent against it rather than assuming: rate
// limits with a ban, the TLS header requirement, and the input filter.

type Bucket = { tokens: number; updatedAt: number };

class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, Bucket>();
  constructor(ratePerSecond: number, burst: number) {
    this.#rate = ratePerSecond;
    this.#burst = burst;
  }
  take(id: string, now: number): boolean {
    const b = this.#buckets.get(id) ?? { tokens: this.#burst, updatedAt: now };
    b.tokens = Math.min(this.#burst, b.tokens + ((now - b.updatedAt) / 1000) * this.#rate);
    b.updatedAt = now;
    this.#buckets.set(id, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

export type QuirkVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: number; readonly body: string; readonly reason: string };

const BAN_AFTER_VIOLATIONS = 10;
const BAN_MS = 3_600_000;
const REJECTED = [
  /'/,
  /;/,
  /@/,
  /--/,
  /\/\*/,
  /\*\//,
  /&/,
  /\|/,
  /\$/,
  /`/,
  /\.\.\//,
  /<script/i,
  /javascript:/i,
  /\bunion\b.*\bselect\b/i,
  /\bdrop\b.*\btable\b/i,
  /\bor\b\s+1\s*=\s*1/i,
];

export class UpstreamQuirks {
  readonly #authorised = new TokenBucket(100, 50);
  readonly #anonymous = new TokenBucket(10, 10);
  readonly #perIp = new TokenBucket(10, 10);
  readonly #violations = new Map<string, number>();
  readonly #bannedUntil = new Map<string, number>();

  /** Banned IPs and their violation counts, for tests and the fleet report. */
  stats(): { banned: string[]; violations: Record<string, number> } {
    return { banned: [...this.#bannedUntil.keys()], violations: Object.fromEntries(this.#violations) };
  }

  check(ip: string, rawUrl: string, headers: Readonly<Record<string, string | string[] | undefined>>, now = Date.now()): QuirkVerdict {
    // 1. rate limit (global bucket by Authorization presence, then per IP); violations lead to a ban
    const global = headers.authorization !== undefined ? this.#authorised : this.#anonymous;
    const globalOk = global.take('global', now);
    if (!globalOk || !this.#perIp.take(ip, now)) {
      const count = (this.#violations.get(ip) ?? 0) + 1;
      this.#violations.set(ip, count);
      if (count >= BAN_AFTER_VIOLATIONS) this.#bannedUntil.set(ip, now + BAN_MS);
      return { ok: false, status: 429, body: 'Rate limit exceeded. Please try again later', reason: 'rate limit' };
    }
    // 2. IP blocklist
    const until = this.#bannedUntil.get(ip);
    if (until !== undefined && until > now) return { ok: false, status: 403, body: 'Forbidden', reason: 'banned' };
    // 3. TLS required, as seen by the ingress in front
    if (headers['x-forwarded-proto'] !== 'https') {
      return { ok: false, status: 426, body: 'Insecure protocol: TLS is required', reason: 'tls' };
    }
    // 4. input validation on the raw path and query
    if (rawUrl.length > 1000 || REJECTED.some((pattern) => pattern.test(rawUrl))) {
      return { ok: false, status: 400, body: 'Request rejected due to security policy', reason: 'input filter' };
    }
    return { ok: true };
  }
}
