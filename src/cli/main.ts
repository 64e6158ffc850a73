#!/usr/bin/env node
/**
 * `npx nestjs-approov <command>`: mint example tokens, check a token with the guard's own rules,
 * and compute binding hashes, as Approov's CLI does with `approov token -genExample`, `-check`
 * and `-setDataHashInToken`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { approovBindingHash, checkBinding } from '../binding/token-binding.js';
import type { ApproovFailureReason } from '../guard/reasons.js';
import { resolveApproovConfig } from '../module/options.js';
import { mintApproovToken } from '../testing/index.js';
import { ApproovTokenVerifier, type ClaimsSink } from '../token/token-verifier.js';

/** Exit codes: the token is valid, it is rejected, or the command was used wrongly. */
const VALID = 0;
const REJECTED = 1;
const USAGE = 2;

class UsageError extends Error {}

const SECRET_HELP =
  '  --secret <base64>   the account secret (default: $APPROOV_BASE64_SECRET, then ./.env)';

const HELP: Record<string, string> = {
  main: `Usage: nestjs-approov <command> [options]

Commands:
  token            mint an example token
  check <token>    check a token with the guard's rules and show its claims
  hash <value>...  the pay claim that binds a token to these values

Run nestjs-approov <command> --help for its options.
Exit codes: 0 valid, 1 rejected, 2 usage error.`,
  token: `Usage: nestjs-approov token [options]

Mints an example Approov token, and prints it with a curl command that sends it.

${SECRET_HELP}
  --ttl <seconds>     lifetime from now (default 300)
  --expired           mint a token that expired a minute ago
  --claim <k=v>       add a claim; v is read as JSON when it can be (repeatable)
  --bind <value>      bind the token to a header value, in order (repeatable); the curl
                      command then names the headers <binding header 1>, ...: put yours
  --url <url>         the URL in the curl command (default http://localhost:8002/token-check)`,
  check: `Usage: nestjs-approov check <token> [options]

Checks a token as ApproovGuard does, prints its claims and when it expires, and says why it
would be rejected. Exits 0 when valid, 1 when rejected.

${SECRET_HELP}
  --bind <value>      also check the binding to these header values, in order (repeatable)
  --clock-tolerance <seconds>  leeway on exp and nbf (default 0)`,
  hash: `Usage: nestjs-approov hash <value>...

Prints the pay claim for binding values, in order: base64 of SHA-256 of the trimmed values,
concatenated.`,
};

/** The secret from --secret, the environment, or a .env file in the current folder. */
function secretFrom(flag: string | undefined): string {
  if (flag !== undefined) return flag;
  const fromEnvironment = process.env.APPROOV_BASE64_SECRET;
  if (fromEnvironment) return fromEnvironment;
  if (existsSync('.env')) {
    for (const line of readFileSync('.env', 'utf8').split(/\r?\n/)) {
      const match = /^\s*(?:export\s+)?APPROOV_BASE64_SECRET\s*=\s*(.*?)\s*$/.exec(line);
      if (match) return match[1].replace(/^(['"])(.*)\1$/, '$2');
    }
  }
  throw new UsageError(
    'No secret: pass --secret, or set APPROOV_BASE64_SECRET in the environment or ./.env.',
  );
}

/** `k=v` claims, with v read as JSON when it parses (numbers, booleans, objects). */
function claimsFrom(pairs: readonly string[]): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new UsageError(`--claim wants name=value, not "${pair}".`);
    const text = pair.slice(equals + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // Plain text.
    }
    claims[pair.slice(0, equals)] = value;
  }
  return claims;
}

/** "in 4 min 59 s" or "5 s ago". */
function relative(seconds: number): string {
  const total = Math.round(Math.abs(seconds));
  const parts = [
    [Math.floor(total / 86400), 'd'],
    [Math.floor((total % 86400) / 3600), 'h'],
    [Math.floor((total % 3600) / 60), 'min'],
    [total % 60, 's'],
  ] as const;
  const text = parts
    .filter(([amount], index) => amount > 0 || (index === 3 && total === 0))
    .map(([amount, unit]) => `${amount} ${unit}`)
    .join(' ');
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

function token(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      secret: { type: 'string' },
      ttl: { type: 'string' },
      expired: { type: 'boolean' },
      claim: { type: 'string', multiple: true },
      bind: { type: 'string', multiple: true },
      url: { type: 'string' },
    },
  });
  const ttlSeconds = values.expired ? -60 : Number(values.ttl ?? 300);
  if (!Number.isFinite(ttlSeconds)) throw new UsageError('--ttl wants a number of seconds.');
  const bind = values.bind ?? [];
  const minted = mintApproovToken({
    secret: secretFrom(values.secret),
    ttlSeconds,
    bind: bind.length > 0 ? bind : undefined,
    claims: claimsFrom(values.claim ?? []),
  });
  const url = values.url ?? 'http://localhost:8002/token-check';
  const bindingHeaders = bind.map(
    (value, index) => ` -H '<binding header ${index + 1}>: ${value}'`,
  );
  console.log(minted);
  console.log(`curl -i ${url} -H 'Approov-Token: ${minted}'${bindingHeaders.join('')}`);
  return VALID;
}

function check(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      secret: { type: 'string' },
      bind: { type: 'string', multiple: true },
      'clock-tolerance': { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('check wants exactly one token.');
  const config = resolveApproovConfig({
    secret: secretFrom(values.secret),
    clockToleranceSeconds: Number(values['clock-tolerance'] ?? 0),
  });
  const verifier = new ApproovTokenVerifier(config);
  const sink: ClaimsSink = {};
  let reason: ApproovFailureReason | undefined = verifier.check(positionals[0].trim(), sink);
  const bind = values.bind ?? [];
  if (reason === undefined && bind.length > 0) {
    // Values as the guard receives them: the bytes of the header, one character each.
    const names = bind.map((_, index) => `binding-${index}`);
    const rawHeaders = bind.flatMap((value, index) => [
      names[index],
      Buffer.from(value, 'utf8').toString('latin1'),
    ]);
    reason = checkBinding(sink.claims!, rawHeaders, names, config.allowMissingPay);
  }
  const { claims } = sink;
  if (claims !== undefined) {
    console.log(JSON.stringify(claims, null, 2));
    if (typeof claims.exp === 'number') {
      const seconds = claims.exp - Date.now() / 1000;
      const when = new Date(claims.exp * 1000).toISOString();
      console.log(`${seconds > 0 ? 'expires' : 'expired'} ${relative(seconds)} (${when})`);
    }
  }
  if (reason === undefined) {
    console.log(bind.length > 0 ? 'valid, and bound to the given values' : 'valid');
    return VALID;
  }
  console.log(`rejected: ${reason}`);
  return REJECTED;
}

function hash(args: string[]): number {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length === 0) throw new UsageError('hash wants at least one value.');
  console.log(approovBindingHash(positionals));
  return VALID;
}

const COMMANDS: Record<string, (args: string[]) => number> = { token, check, hash };

/** Runs the CLI with `argv` (without node and the script) and returns the exit code. */
function run(argv: readonly string[]): number {
  const [command, ...args] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    console.log(HELP.main);
    return command === undefined ? USAGE : VALID;
  }
  const handler = COMMANDS[command];
  if (handler === undefined) {
    console.error(`Unknown command "${command}".\n\n${HELP.main}`);
    return USAGE;
  }
  if (args.includes('--help') || args.includes('-h')) {
    console.log(HELP[command]);
    return VALID;
  }
  try {
    return handler(args);
  } catch (error) {
    // Bad flags, a missing or invalid secret: say what is wrong, never the secret itself.
    const message = error instanceof Error ? error.message : String(error);
    console.error(`${message}\n\n${HELP[command]}`);
    return USAGE;
  }
}

process.exitCode = run(process.argv.slice(2));
