import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mintApproovToken, signApproovRequest } from 'nestjs-approov/testing';
import { DUMMY_APPROOV_SECRET } from './sample-secret.js';

const AUTHORIZATION = 'Bearer example-user-token';
const DEVICE_ID = 'example-device-id';
/** The JSON body of the signed example, which its `Content-Digest` covers. */
const SIGNED_BODY = '{"greeting":"hello"}';
const JSON_TYPE = 'Content-Type: application/json';
/**
 * This folder, from the sources and from their build in dist-sample/: the CLI run from it reads
 * `.env` where the app does.
 */
const SAMPLE_APP_FOLDER = fileURLToPath(new URL('../sample-app/', import.meta.url));

/** `text` as one shell word: single-quoted, a `'` written `'\''`. */
const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/**
 * Ready-to-paste curl commands for each route of the sample app, with tokens freshly minted with
 * `secret` (valid for an hour), one refused request, and a request to `POST /message-signing`
 * signed as an Approov SDK signs it (valid for seconds), with the CLI command that signs and
 * sends a fresh one.
 */
export function exampleRequests(baseUrl: string, secret: string): string {
  const ttlSeconds = 3600;
  const token = mintApproovToken({ secret, ttlSeconds });
  const bound = mintApproovToken({ secret, ttlSeconds, bind: [AUTHORIZATION] });
  const doublyBound = mintApproovToken({ secret, ttlSeconds, bind: [AUTHORIZATION, DEVICE_ID] });
  const signedUrl = `${baseUrl}/message-signing`;
  const { headers } = signApproovRequest({
    secret,
    method: 'POST',
    url: signedUrl,
    headers: { 'Content-Type': 'application/json' },
    body: SIGNED_BODY,
  });
  const signedHeaders = Object.entries(headers).map(
    ([name, value]) => ` -H ${quote(`${name}: ${value}`)}`,
  );
  // The CLI finds the secret as the app does: the environment, then sample-app/.env. Approov's
  // dummy secret is published and protects nothing: it is given when the app runs with it.
  const folder = relative(process.cwd(), SAMPLE_APP_FOLDER);
  const cd = folder === '' ? '' : `cd ${/^[\w./-]+$/.test(folder) ? folder : quote(folder)} && `;
  const secretFlag = secret === DUMMY_APPROOV_SECRET ? ` --secret ${quote(secret)}` : '';
  const sign = `npx nestjs-approov sign --url ${quote(signedUrl)} --header ${quote(JSON_TYPE)} --data ${quote(SIGNED_BODY)}${secretFlag}`;
  return [
    'Try the sample app (tokens valid for an hour):',
    `  curl -i ${baseUrl}/`,
    `  curl -i ${baseUrl}/token-check -H 'Approov-Token: ${token}'`,
    `  curl -i ${baseUrl}/token-binding -H 'Approov-Token: ${bound}' -H 'Authorization: ${AUTHORIZATION}'`,
    `  curl -i ${baseUrl}/token-double-binding -H 'Approov-Token: ${doublyBound}' -H 'Authorization: ${AUTHORIZATION}' -H 'X-Device-Id: ${DEVICE_ID}'`,
    'GraphQL:',
    `  curl -i ${baseUrl}/graphql -H 'Content-Type: application/json' -H 'Approov-Token: ${token}' -d '{"query":"{ hello }"}'`,
    'WebSocket (then send {"event":"echo","data":"hi"}):',
    `  npx wscat -c ${baseUrl.replace('http', 'ws')}/ws -H 'Approov-Token: ${token}'`,
    'Refused with 401 and {} (no token):',
    `  curl -i ${baseUrl}/token-check`,
    "Message signing, an install signature as Approov SDKs make it (it expires 15 s after it is printed, 30 s with the guard's clock tolerance, then gets 401; accepted once, a second send is refused as a replay):",
    `  curl -i -X POST ${quote(signedUrl)}${signedHeaders.join('')} --data-binary ${quote(SIGNED_BODY)}`,
    `Sign and send a fresh one at any time${secretFlag === '' ? ' (the secret from $APPROOV_BASE64_SECRET, then sample-app/.env)' : ''}:`,
    `  eval "$(${cd}${sign})"`,
  ].join('\n');
}
