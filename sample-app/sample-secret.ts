import { Logger } from '@nestjs/common';

/**
 * Approov's published dummy secret, from its quickstarts' TESTING docs. It lets the sample run
 * without an Approov account; it protects nothing, so production refuses it.
 */
export const DUMMY_APPROOV_SECRET =
  'h+CX0tOzdAAR9l15bWAqvq7w9olk66daIH+Xk+IAHhVVHszjDzeGobzNnqyRze3lw/WVyWrc2gZfh3XXfBOmww==';

/**
 * The secret the sample app runs with: `APPROOV_BASE64_SECRET` when set; otherwise the dummy
 * secret, with a warning, unless `NODE_ENV` is `production`, where it refuses to start without a
 * secret, or with the dummy one.
 */
export function sampleAppSecret(secret: string | undefined, nodeEnv: string | undefined): string {
  const given = secret?.trim() ?? '';
  if (nodeEnv === 'production') {
    if (given === '' || given === DUMMY_APPROOV_SECRET) {
      throw new Error(
        `APPROOV_BASE64_SECRET is ${given === '' ? 'not set' : "Approov's published dummy secret"}. ` +
          'In production the sample app refuses to run without a real secret: set it to the ' +
          'output of `approov secret -get base64`.',
      );
    }
    return given;
  }
  if (given !== '') return given;
  new Logger('SampleApp').warn(
    "APPROOV_BASE64_SECRET is not set: using Approov's published dummy secret. " +
      'It protects nothing; set APPROOV_BASE64_SECRET in sample-app/.env or the environment.',
  );
  return DUMMY_APPROOV_SECRET;
}
