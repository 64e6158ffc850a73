/**
 * Thrown at startup when Approov is configured wrongly: by `ApproovModule` options or by a
 * decorator's arguments. The message names the option and says how to fix it; it never contains
 * the secret.
 */
export class ApproovConfigError extends Error {
  constructor(
    /** The option at fault, as written in the code: `secret`, `tokenBinding[1]`, `@ApproovTokenBinding()`. */
    readonly option: string,
    problem: string,
    fix: string,
  ) {
    super(`Invalid Approov configuration: "${option}" ${problem}. ${fix}`);
    this.name = 'ApproovConfigError';
  }
}
