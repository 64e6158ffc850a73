import { Logger } from '@nestjs/common';

/**
 * Approov's published dummy secret, from its quickstarts' TESTING docs. It lets the sample run
 * without an Approov account; it protects nothing, so production refuses it.
 */
export const DUMMY_APPROOV_SECRET =
  'h+CX0tOzdAAR9l15bWAqvq7w9olk66daIH+Xk+IAHhVVHszjDzeGobzNnqyRze3lw/WVyWrc2gZfh3XXfBOmww==';

/**
 * The secret the sample app runs with: `APPROOV_BASE64_SECRET` when set; otherwise the dummy
 * secret, with a warning, unless `NODE_ENV` is `production`, where it refuses to start.
 */
export function sampleAppSecret(secret: string | undefined, nodeEnv: string | undefined): string {
  if (secret !== undefined && secret.trim() !== '') return secret;
  if (nodeEnv === 'production') {
    throw new Error(
      'APPROOV_BASE64_SECRET is not set. In production the sample app refuses the dummy secret: ' +
        'set it to the output of `approov secret -get base64`.',
    );
  }
  new Logger('SampleApp').warn(
    "APPROOV_BASE64_SECRET is not set: using Approov's published dummy secret. " +
      'It protects nothing; set APPROOV_BASE64_SECRET in sample-app/.env or the environment.',
  );
  return DUMMY_APPROOV_SECRET;
}
