// One error module for the whole project, in the style of undici's
// lib/core/errors.js: every class has a stable `code`, a default message and
// an optional `cause`. Callers branch on `code`, never on message text.

/** Every code an LlmConfigError can carry: the stable contract callers branch on. */
export type ErrorCode =
  | 'LLMC_ERR'
  | 'LLMC_ERR_INVALID_SETTING'
  | 'LLMC_ERR_USAGE'
  | 'LLMC_ERR_INVALID_VALUE'
  | 'LLMC_ERR_CENTRAL_HTTP'
  | 'LLMC_ERR_CENTRAL_RATE_LIMITED'
  | 'LLMC_ERR_CENTRAL_UNREACHABLE'
  | 'LLMC_ERR_CENTRAL_PROTOCOL'
  | 'LLMC_ERR_ENTRY_REFUSED'
  | 'LLMC_ERR_STREAM_UNSUPPORTED'
  | 'LLMC_ERR_STREAM_STALLED'
  | 'LLMC_ERR_SNAPSHOT'
  | 'LLMC_ERR_OUTPUT_WRITE'
  | 'LLMC_ERR_RENDER'
  | 'LLMC_ERR_NOTIFY'
  | 'LLMC_ERR_INIT_FAILED'
  | 'LLMC_ERR_VAULT'
  | 'LLMC_ERR_VAULT_PERMISSION'
  | 'LLMC_ERR_BAD_REVIEW'
  | 'LLMC_ERR_INJECTION_CONFLICT'
  | 'LLMC_ERR_FILE_SPEC'
  | 'LLMC_ERR_WEBHOOK_TLS'
  | 'LLMC_ERR_TOKEN_REVIEW_UNAVAILABLE';

export type ErrorOptions = { cause?: unknown };

export class LlmConfigError extends Error {
  readonly code: ErrorCode = 'LLMC_ERR';
  constructor(message = 'LLM-Config error', options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

/** A flag, environment variable, annotation or spec field has a value we cannot accept. */
export class InvalidSettingError extends LlmConfigError {
  override readonly code = 'LLMC_ERR_INVALID_SETTING';
  readonly setting: string;
  readonly value: string;
  readonly accepted: string;
  constructor(setting: string, value: string, accepted: string, options: ErrorOptions = {}) {
    // A value with control or line-separator characters is shown escaped: never raw on a terminal or in a log line.
    const shown = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(value) ? JSON.stringify(value) : value;
    super(`${setting}=${shown}: ${accepted}`, options);
    this.setting = setting;
    this.value = value;
    this.accepted = accepted;
  }
}

/** The command line itself is malformed: an unknown flag, a missing value. */
export class UsageError extends LlmConfigError {
  override readonly code = 'LLMC_ERR_USAGE';
  constructor(message = 'invalid command line (see --help)', options: ErrorOptions = {}) {
    super(message, options);
  }
}

/** A value given to one parser of the parser table was rejected; the caller names the setting. */
export class InvalidValueError extends LlmConfigError {
  override readonly code = 'LLMC_ERR_INVALID_VALUE';
  constructor(message = 'invalid value', options: ErrorOptions = {}) {
    super(message, options);
  }
}

/** The central API answered with a non-success HTTP status. */
export class CentralHttpError extends LlmConfigError {
  override readonly code: ErrorCode = 'LLMC_ERR_CENTRAL_HTTP';
  readonly status: number;
  /** Milliseconds the server asked us to wait (Retry-After), when it said so. */
  readonly retryAfterMs: number | undefined;
  constructor(status: number, detail: string, retryAfterMs?: number, options: ErrorOptions = {}) {
    super(`central API answered ${status}${detail ? `: ${detail}` : ''}`, options);
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

/** 429: the central API is rate limiting us; always back off, never hammer. */
export class CentralRateLimitedError extends CentralHttpError {
  override readonly code = 'LLMC_ERR_CENTRAL_RATE_LIMITED';
}

/** The central API could not be reached at all (connection refused, reset, timeout). */
export class CentralUnreachableError extends LlmConfigError {
  override readonly code = 'LLMC_ERR_CENTRAL_UNREACHABLE';
  constructor(message = 'central API unreachable', options: ErrorOptions = {}) {
    super(message, options);
  }
}

/** The central API answered 2xx with a body we cannot use (not JSON, wrong shape, too large). */
export class CentralProtocolError extends LlmConfigError {
  override readonly code = 'LLMC_ERR_CENTRAL_PROTOCOL';
  constructor(message = 'unexpected answer from the central API', options: ErrorOptions = {}) {
    super(message, options);
  }
}

/** One entry of an answer the agent does not take, and why (SPEC §4 "Answers are checked against the question"). */
export type EntryRefusal = {
  readonly namespace: string | undefined;
  readonly key: string | undefined;
  readonly kind: 'malformed' | 'too-deep' | 'foreign-namespace' | 'foreign-environment' | 'foreign-answer' | 'duplicate';
  readonly reason: string;
};

/** One entry of a central answer was refused (malformed, nested too deep); the rest of the answer is used. */
export class EntryRefusedError extends LlmConfigError {
  override readonly code = 'LLMC_ERR_ENTRY_REFUSED';
  readonly refusal: EntryRefusal;
  constructor(where: string, refusal: EntryRefusal, options: ErrorOptions = {}) {
    super(`${where}: ${refusal.reason}`, options);
    this.refusal = refusal;
  }
}

/** The server does not offer the watch stream (404/405/501, or upstream's 400 on `&`). */
export class StreamUnsupportedError extends LlmConfigError {
  override readonly code = 'LLMC_ERR_STREAM_UNSUPPORTED';
  constructor(message = 'the central API offers no watch stream', options: ErrorOptions = {}) {
    super(message, options);
  }
}

/** The watch stream went quiet for longer than the heartbeat budget. */
export class StreamStalledError extends LlmConfigError {
  override readonly code = 'LLMC_ERR_STREAM_STALLED';
  constructor(message = 'watch stream silent past the heartbeat timeout', options: ErrorOptions = {}) {
    super(message, options);
  }
}

/** The snapshot file is missing, corrupt, or belongs to another environment. */
export class SnapshotError extends LlmConfigError {
  override readonly code = 'LLMC_ERR_SNAPSHOT';
  constructor(message = 'snapshot unusable', options: ErrorOptions = {}) {
    super(message, options);
  }
}

/** Writing the output directory failed; the previous files are still in place. */
export class OutputWriteError extends LlmConfigError {
  override readonly code = 'LLMC_ERR_OUTPUT_WRITE';
  constructor(message = 'writing the output files failed', options: ErrorOptions = {}) {
    super(message, options);
  }
}

/** A file of the files specification could not be rendered from the current data. */
export class RenderError extends LlmConfigError {
  override readonly code = 'LLMC_ERR_RENDER';
  readonly file: string;
  constructor(file: string, message = 'render failed', options: ErrorOptions = {}) {
    super(`${file}: ${message}`, options);
    this.file = file;
  }
}

/** The app was not told that its files changed: its reload URL refused or could not be reached. */
export class NotifyError extends LlmConfigError {
  override readonly code = 'LLMC_ERR_NOTIFY';
  /** The reload URL's HTTP status, when it answered. */
  readonly status: number | undefined;
  constructor(message = 'the app was not notified', status?: number, options: ErrorOptions = {}) {
    super(message, options);
    this.status = status;
  }
}

/** `init` could not produce every required file before its deadline. */
export class InitFailedError extends LlmConfigError {
  override readonly code = 'LLMC_ERR_INIT_FAILED';
  constructor(message = 'init failed', options: ErrorOptions = {}) {
    super(message, options);
  }
}

/** Vault refused or failed a request. Never carries a secret value. */
export class VaultError extends LlmConfigError {
  override readonly code: ErrorCode = 'LLMC_ERR_VAULT';
  readonly status: number | undefined;
  constructor(message = 'Vault request failed', status?: number, options: ErrorOptions = {}) {
    super(message, options);
    this.status = status;
  }
}

/** Vault answered 403: the role's policy does not allow the path. */
export class VaultPermissionError extends VaultError {
  override readonly code = 'LLMC_ERR_VAULT_PERMISSION';
}

/** An AdmissionReview that is not one (wrong shape, version or content type): HTTP 400. */
export class ReviewDecodeError extends LlmConfigError {
  override readonly code = 'LLMC_ERR_BAD_REVIEW';
  constructor(message = 'not an admission.k8s.io/v1 AdmissionReview', options: ErrorOptions = {}) {
    super(message, options);
  }
}

/** Injection would collide with what the pod already has (a volume, container, env or mount). */
export class InjectionConflictError extends LlmConfigError {
  override readonly code = 'LLMC_ERR_INJECTION_CONFLICT';
  constructor(message = 'injection would collide with the pod', options: ErrorOptions = {}) {
    super(message, options);
  }
}

/** One field of a files-spec entry (name, source, format, mode, template) is wrong; `field` says which. */
export class FileSpecError extends LlmConfigError {
  override readonly code = 'LLMC_ERR_FILE_SPEC';
  readonly field: 'entry' | 'name' | 'source' | 'format' | 'mode' | 'template' | 'prefix' | 'multiline';
  constructor(field: FileSpecError['field'], message: string, options: ErrorOptions = {}) {
    super(message, options);
    this.field = field;
  }
}

/** Self-managed webhook TLS could not be set up through the Kubernetes API (Secret, Lease or caBundle). */
export class WebhookTlsError extends LlmConfigError {
  override readonly code = 'LLMC_ERR_WEBHOOK_TLS';
  constructor(message = 'self-managed webhook TLS failed', options: ErrorOptions = {}) {
    super(message, options);
  }
}

/** The relay cannot review a token now: the Kubernetes API failed or was slow, or reviews are over their budget. */
export class TokenReviewUnavailableError extends LlmConfigError {
  override readonly code = 'LLMC_ERR_TOKEN_REVIEW_UNAVAILABLE';
  readonly reason: 'api-error' | 'timeout' | 'busy';
  constructor(reason: TokenReviewUnavailableError['reason'], message: string, options: ErrorOptions = {}) {
    super(message, options);
    this.reason = reason;
  }
}

export function errorCode(error: unknown): ErrorCode | undefined {
  return error instanceof LlmConfigError ? error.code : undefined;
}

/** A one-line description safe to log: message plus the codes of the cause chain. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (cause: ${error.cause.message})` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}
