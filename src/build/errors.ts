/** A failed step; `code` is a RUN's exit code (the CLI exits with it). */
export class BuildError extends Error {
  constructor(message: string, readonly code?: number) {
    super(message);
  }
}
