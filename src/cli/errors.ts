// The CLI's one error type: what a person did wrong, said in one line.

/** A user-facing problem: printed as one line, exit code 2. */
export class CliError extends Error {
  override name = "CliError";
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}
