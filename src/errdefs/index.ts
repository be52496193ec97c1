/**
 * Error kinds: the one vocabulary every layer of berth uses to say what went wrong.
 *
 * Code below the API never picks an HTTP status or an exit code; it throws an `EngineError` of the right kind and
 * exactly one table here turns the kind into a status (server side) or an exit code (CLI side). The message is the
 * text the user sees — Docker's wording wherever users script on it.
 */

export type ErrorKind =
  | 'NotFound'
  | 'InvalidArgument'
  | 'AlreadyExists'
  | 'Conflict'
  | 'FailedPrecondition'
  | 'NotModified'
  | 'Unauthorized'
  | 'Forbidden'
  | 'Unavailable'
  | 'NotImplemented'
  | 'Internal';

export class EngineError extends Error {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.name = 'EngineError';
  }
}

const statusByKind: Record<ErrorKind, number> = {
  NotFound: 404,
  InvalidArgument: 400,
  AlreadyExists: 409,
  Conflict: 409,
  FailedPrecondition: 412,
  NotModified: 304,
  Unauthorized: 401,
  Forbidden: 403,
  Unavailable: 503,
  NotImplemented: 501,
  Internal: 500,
};

/** The HTTP status the API answers for an error of this kind. */
export function httpStatus(kind: ErrorKind): number {
  return statusByKind[kind];
}

/** The error kind an HTTP status stands for (used by the client to rebuild errors from responses). */
export function kindFromStatus(status: number): ErrorKind {
  for (const [kind, s] of Object.entries(statusByKind)) if (s === status) return kind as ErrorKind;
  if (status >= 400 && status < 500) return 'InvalidArgument';
  return 'Internal';
}

/** The kind of any thrown value: EngineErrors keep theirs, anything with a string `kind` too, the rest are Internal. */
export function kindOf(err: unknown): ErrorKind {
  if (err instanceof EngineError) return err.kind;
  const k = (err as { kind?: unknown } | null)?.kind;
  if (typeof k === 'string' && k in statusByKind) return k as ErrorKind;
  // a cut-short or garbled tar from the client (a build context, an archive upload) is the request's fault
  if ((err as { code?: unknown } | null)?.code === 'ETARFORMAT') return 'InvalidArgument';
  return 'Internal';
}

export const notFound = (message: string, cause?: unknown) => new EngineError('NotFound', message, { cause });
export const invalidArgument = (message: string, cause?: unknown) => new EngineError('InvalidArgument', message, { cause });
export const alreadyExists = (message: string, cause?: unknown) => new EngineError('AlreadyExists', message, { cause });
export const conflict = (message: string, cause?: unknown) => new EngineError('Conflict', message, { cause });
export const failedPrecondition = (message: string, cause?: unknown) => new EngineError('FailedPrecondition', message, { cause });
export const notModified = (message = 'not modified') => new EngineError('NotModified', message);
export const unauthorized = (message: string, cause?: unknown) => new EngineError('Unauthorized', message, { cause });
export const unavailable = (message: string, cause?: unknown) => new EngineError('Unavailable', message, { cause });
export const notImplemented = (message: string) => new EngineError('NotImplemented', message);
export const internal = (message: string, cause?: unknown) => new EngineError('Internal', message, { cause });

export function isNotFound(err: unknown): boolean {
  return kindOf(err) === 'NotFound';
}

/**
 * Exit codes the CLI uses, like docker's: 125 when the error is the CLI's or the daemon's own (usage, unreachable
 * daemon, API error). 126/127 are reserved for "command cannot be invoked"/"command not found" in a container.
 */
export const ExitCode = { Ok: 0, Failure: 1, Engine: 125, CannotInvoke: 126, NotFound: 127 } as const;
