import { mintApproovToken } from 'nestjs-approov/testing';

const AUTHORIZATION = 'Bearer example-user-token';
const DEVICE_ID = 'example-device-id';

/**
 * Ready-to-paste curl commands for each route of the sample app, with tokens freshly minted with
 * `secret` (valid for an hour), and one refused request.
 */
export function exampleRequests(baseUrl: string, secret: string): string {
  const ttlSeconds = 3600;
  const token = mintApproovToken({ secret, ttlSeconds });
  const bound = mintApproovToken({ secret, ttlSeconds, bind: [AUTHORIZATION] });
  const doublyBound = mintApproovToken({ secret, ttlSeconds, bind: [AUTHORIZATION, DEVICE_ID] });
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
  ].join('\n');
}
