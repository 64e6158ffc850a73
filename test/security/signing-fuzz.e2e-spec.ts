/**
 * Property-based tests of message signing through a real app on both adapters: random mutations
 * of a signed request are accepted only when the server receives the same request, and garbage
 * in the signature fields is always refused, for a signing reason.
 *
 * `npm test` runs 100 cases per property with a fixed seed. FUZZ_RANDOM=1 picks a random seed,
 * FUZZ_RUNS=<n> sets the cases per property, and FUZZ_SEED=<seed> FUZZ_PATH=<path> replays the
 * failure fast-check prints (with the FUZZ_RUNS it ran with):
 *
 *   FUZZ_RANDOM=1 FUZZ_RUNS=2000 node --experimental-vm-modules \
 *     node_modules/jest/bin/jest.js test/security/signing-fuzz
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { signApproovRequest } from 'nestjs-approov/testing';
import { parseDictionary, serializeDictionary } from 'structured-headers';
import type { Response } from 'supertest';
import {
  ADAPTERS,
  expectAccepted,
  expectRefused,
  handlerCalls,
  type HttpVerb,
  logs,
  type TestApp,
} from '../support/test-app.js';
import { SECRET } from '../support/tokens.js';
import { ACCOUNT_KEY, received, startSigningTargetApp } from './signing-target-app.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
const SEED = process.env.FUZZ_SEED ?? (process.env.FUZZ_RANDOM ? undefined : '20261205');
/** Jest's time limit for a property: a few milliseconds a case, with room to spare. */
const TIMEOUT = 20_000 + RUNS * 50;
const settings: fc.Parameters<unknown> = {
  numRuns: RUNS,
  ...(SEED === undefined ? {} : { seed: Number(SEED) }),
  ...(process.env.FUZZ_PATH === undefined ? {} : { path: process.env.FUZZ_PATH }),
};

/** The reason codes of message signing: a request with a sound token fails with one of these. */
const SIGNING_FAILURES = [
  'missing_signature',
  'malformed_signature',
  'signature_params_invalid',
  'signature_expired',
  'signature_not_yet_valid',
  'signature_component_missing',
  'signature_mismatch',
  'missing_ipk',
  'invalid_ipk',
  'mskid_mismatch',
  'content_digest_missing',
  'content_digest_invalid',
  'content_digest_mismatch',
  'body_unavailable',
];

/** The reason a refusal logged. */
const reasonOf = (line: string | undefined) => /rejected: (\w+)/.exec(line ?? '')?.[1];

type Label = 'install' | 'account';
interface Route {
  readonly name: string;
  readonly prefix: string;
  readonly labels: readonly Label[];
  /** The name the route's handlers record when they run. */
  readonly handler: string;
}
const ROUTES: readonly Route[] = [
  { name: 'install', prefix: 'install', labels: ['install'], handler: 'install' },
  { name: 'install and account', prefix: 'both', labels: ['install', 'account'], handler: 'both' },
];

const METHODS = ['POST', 'PUT', 'PATCH'] as const;
type Method = (typeof METHODS)[number];

/** A request as the client sends it: header lines in order, a name given twice sent twice. */
interface SentRequest {
  readonly method: Method;
  readonly path: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
}

const BODY = JSON.stringify({ order: 'ord-42', note: 'two blue mugs', qty: 3 });
const pathOf = (route: Route) => `/${route.prefix}/ord-42?page=2&q=caf%C3%A9`;

/**
 * A POST with a JSON body, `Authorization` and `Content-Type`, signed now as an SDK signs it
 * (with a new installation key), and the `Host` header the client sends, given explicitly so that
 * it can be mutated.
 */
function signedRequest(app: TestApp, route: Route): SentRequest {
  const path = pathOf(route);
  const { headers } = signApproovRequest({
    secret: SECRET,
    method: 'POST',
    url: `${app.address}${path}`,
    headers: { Authorization: 'Bearer session-7f3a9c', 'Content-Type': 'application/json' },
    body: BODY,
    labels: route.labels,
    accountKey: ACCOUNT_KEY,
  });
  return {
    method: 'POST',
    path,
    headers: [['Host', new URL(app.address).host], ...Object.entries(headers)],
    body: BODY,
  };
}

const send = (app: TestApp, request: SentRequest): Promise<Response> => {
  received.last = undefined;
  return app.sendRaw(
    request.method.toLowerCase() as HttpVerb,
    request.path,
    request.headers,
    request.body,
  );
};

// ---------------------------------------------------------------------------------------------
// What the server receives

/** A request as the server receives it: header values by lower-case name, in order. */
interface ReceivedView {
  readonly method: string;
  readonly target: string;
  readonly headers: Readonly<Record<string, readonly string[]>>;
  readonly body: Buffer;
}

/** White space around a header value is not part of it (RFC 9110 section 5.5). */
const trimmed = (value: string) => value.replace(/^[ \t]+|[ \t]+$/g, '');

/**
 * A header value as the server reads it when supertest sends it with a text body: Node's client
 * writes the header block with the first chunk of the body, in the body's encoding, UTF-8; the
 * server reads header bytes as latin1. (Without a body, the headers go as latin1.)
 */
const onTheWire = (value: string) => Buffer.from(value, 'utf8').toString('latin1');

/**
 * What the server receives for `request`, sent by supertest: the path and query as WHATWG URL
 * serialises them (superagent sends `pathname + search`: it percent-encodes some characters and
 * drops a fragment and an empty query), header values trimmed, and the headers the client adds
 * when they are missing: `Host`, `Content-Length`, `Content-Type` (superagent's form type for a
 * text body) and `Accept-Encoding`. `Connection` is left out.
 */
function receivedOf(request: SentRequest, address: string): ReceivedView {
  const url = new URL(request.path, address);
  const headers: Record<string, string[]> = {};
  for (const [name, value] of request.headers)
    (headers[name.toLowerCase()] ??= []).push(trimmed(onTheWire(value)));
  headers.host ??= [url.host];
  headers['content-type'] ??= ['application/x-www-form-urlencoded'];
  headers['content-length'] ??= [String(Buffer.byteLength(request.body))];
  headers['accept-encoding'] = ['gzip, deflate'];
  return {
    method: request.method,
    target: `${url.pathname}${url.search}`,
    headers,
    body: Buffer.from(request.body),
  };
}

/** Checks the model above against what the app's first guard recorded. */
function expectReceived(response: Response, expected: ReceivedView): void {
  const last = received.last;
  if (last === undefined) {
    throw new Error(`the request never reached the guards: ${response.status} ${response.text}`);
  }
  const headers: Record<string, string[]> = {};
  for (let i = 0; i < last.rawHeaders.length; i += 2) {
    const name = last.rawHeaders[i].toLowerCase();
    if (name !== 'connection') (headers[name] ??= []).push(last.rawHeaders[i + 1]);
  }
  expect({ method: last.method, target: last.url, headers }).toEqual({
    method: expected.method,
    target: expected.target,
    headers: expected.headers,
  });
  // Express keeps no body of a media type it has no parser for.
  if (last.body !== undefined)
    expect(last.body.toString('latin1')).toBe(expected.body.toString('latin1'));
}

/** Fastify's own reading of Content-Type, which answers 415 to what it finds invalid. */
const FastifyContentType = createRequire(import.meta.url)('fastify/lib/content-type.js') as {
  from(value: string): { readonly isValid: boolean };
};

/**
 * Whether Fastify refuses the request itself, before any guard: it answers 415 to a Content-Type
 * that is not a media type, whatever content-type parsers the app has.
 */
function fastifyRefuses(request: ReceivedView): boolean {
  const contentType = request.headers['content-type']?.[0];
  return contentType !== undefined && !FastifyContentType.from(contentType).isValid;
}

/**
 * Fields compared by their structured value (RFC 9651): RFC 9421 reads `Signature-Input` and
 * `Signature` as dictionaries, and the signature base holds `@signature-params` re-serialised.
 * So `a=1,b=2` is `a=1, b=2`, `created=01` is `created=1`, base64 without its padding or with
 * other pad bits is the same bytes (RFC 9651 section 4.2.7), and a repeated member's last value
 * wins. (`Content-Digest` is covered as text: any change to it must break the signature.)
 */
const STRUCTURED_FIELDS: ReadonlySet<string> = new Set(['signature', 'signature-input']);

/** A dictionary field in its canonical serialisation, or the text as it is when unparsable. */
function canonicalDictionary(value: string): string {
  try {
    return `dictionary ${serializeDictionary(parseDictionary(value))}`;
  } catch {
    return `text ${value}`;
  }
}

/** A field's value as RFC 9110 section 5.3 combines its lines, and as RFC 9421 reads it. */
function fieldOf(request: ReceivedView, name: string): string | undefined {
  const values = request.headers[name];
  if (values === undefined) return undefined;
  const combined = values.join(', ');
  return STRUCTURED_FIELDS.has(name) ? canonicalDictionary(combined) : combined;
}

/** Whether the server receives the same request: method, target, every header field, body. */
function sameOnTheWire(a: ReceivedView, b: ReceivedView): boolean {
  if (a.method !== b.method || a.target !== b.target || !a.body.equals(b.body)) return false;
  const names = new Set([...Object.keys(a.headers), ...Object.keys(b.headers)]);
  return [...names].every((name) => fieldOf(a, name) === fieldOf(b, name));
}

// ---------------------------------------------------------------------------------------------
// Mutations

type Edit = 'replace' | 'insert' | 'delete';
const EDITS: readonly Edit[] = ['replace', 'insert', 'delete'];
type Spot = 'anywhere' | 'punctuation' | 'byte sequence end';

/** Replaces, inserts or deletes one character of `text` at `at` (modulo its length). */
function editAt(text: string, at: number, edit: Edit, char: string): string {
  if (edit !== 'insert' && text.length === 0) return text;
  const index = at % (edit === 'insert' ? text.length + 1 : text.length);
  return editIndex(text, index, edit, char);
}

function editIndex(text: string, index: number, edit: Edit, char: string): string {
  const keep = edit === 'insert' ? index : index + 1;
  return `${text.slice(0, index)}${edit === 'delete' ? '' : char}${text.slice(keep)}`;
}

/**
 * Offsets in a structured field where a change is most likely to keep its meaning: its
 * punctuation (RFC 9651 allows more white space than serialisers write, and leading zeros), or
 * the last characters of a byte sequence (base64's padding and pad bits).
 */
function spotsOf(text: string, spot: Spot): number[] {
  const offsets: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const matches =
      spot === 'punctuation'
        ? ' ,;=:()"'.includes(text[i])
        : text[i + 1] === ':' || text[i] === '=' || text[i + 1] === '=';
    if (matches) offsets.push(i);
  }
  return offsets;
}

type Mutation =
  | { readonly kind: 'none' }
  | { readonly kind: 'method'; readonly method: Method }
  | {
      readonly kind: 'target';
      readonly at: number;
      readonly edit: Edit | 'percent-encode';
      readonly pathChar: string;
      readonly queryChar: string;
      readonly lowerHex: boolean;
    }
  | {
      readonly kind: 'value';
      readonly name: string;
      readonly at: number;
      readonly edit: Edit | 'white space';
      /** Where: any character, one of the field's punctuation, or the end of a byte sequence. */
      readonly spot: Spot;
      readonly char: string;
      readonly base64Char: string;
      readonly space: string;
      readonly atEnd: boolean;
    }
  | { readonly kind: 'duplicate'; readonly name: string }
  | { readonly kind: 'drop'; readonly name: string }
  | { readonly kind: 'body'; readonly at: number; readonly char: string };

const position = fc.nat({ max: 100_000 });
const charsOf = (text: string) => fc.constantFrom(...text.split(''));
/**
 * Characters of the item segment that keep the route: no `/`, `\` (WHATWG URL reads it as `/`),
 * `?`, `#`, or `%` (a lone one fails the router's decoding, 400). Some are percent-encoded by
 * the client, such as the space and `é`.
 */
const PATH_CHARS = 'ABZabz059-._~!$&\'()*+,;=:@ "<>`{}^|é';
/** The query takes those and the characters that split or end it. */
const QUERY_CHARS = `${PATH_CHARS}/?#%&=`;
/** Characters for header values: the fields' structure, white space, and latin1. */
const valueChar = fc.oneof(
  charsOf(' \t:;,=()"*?@-_.+/\\AaZz09'),
  fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
  charsOf('\x80\xa0\xe9\xff'),
);
/** Bytes that keep a JSON string a JSON string. */
const bodyChar = fc
  .integer({ min: 0x20, max: 0x7e })
  .map((code) => String.fromCharCode(code))
  .filter((char) => char !== '"' && char !== '\\');

const BASE64_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=';

const valueMutation = (names: readonly string[], spots: readonly Spot[]) =>
  fc.record({
    kind: fc.constant('value' as const),
    name: fc.constantFrom(...names),
    at: position,
    edit: fc.constantFrom<Edit | 'white space'>(...EDITS, 'white space'),
    spot: fc.constantFrom(...spots),
    char: valueChar,
    base64Char: charsOf(BASE64_CHARS),
    space: charsOf(' \t'),
    atEnd: fc.boolean(),
  });

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('method' as const),
      method: fc.constantFrom(...METHODS),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('target' as const),
      at: position,
      edit: fc.constantFrom<Edit | 'percent-encode'>(...EDITS, 'percent-encode'),
      pathChar: charsOf(PATH_CHARS),
      queryChar: charsOf(QUERY_CHARS),
      lowerHex: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: valueMutation(
      ['Host', 'Approov-Token', 'Authorization', 'Content-Type', 'Content-Length'],
      ['anywhere'],
    ),
  },
  {
    weight: 4,
    arbitrary: valueMutation(
      ['Signature', 'Signature-Input', 'Content-Digest'],
      ['anywhere', 'punctuation', 'byte sequence end'],
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('duplicate' as const),
      // Covered headers, and the signature fields. Not sent twice: Content-Length (Node's parser
      // refuses a second one, 400, before any app code, as RFC 9112 section 6.3 says), and
      // Content-Type (superagent's send() fails on a repeated one).
      name: fc.constantFrom(
        'Approov-Token',
        'Authorization',
        'Content-Digest',
        'Signature',
        'Signature-Input',
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('drop' as const),
      name: fc.constantFrom(
        'Host',
        'Approov-Token',
        'Authorization',
        'Content-Type',
        'Content-Length',
        'Content-Digest',
        'Signature',
        'Signature-Input',
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('body' as const), at: position, char: bodyChar }),
  },
);

/** Offsets of the characters inside the body's JSON strings: changing one keeps valid JSON. */
const BODY_STRING_OFFSETS = (() => {
  const offsets: number[] = [];
  let inString = false;
  for (let i = 0; i < BODY.length; i++) {
    if (BODY[i] === '"') inString = !inString;
    else if (inString) offsets.push(i);
  }
  return offsets;
})();

function mutate(request: SentRequest, route: Route, mutation: Mutation): SentRequest {
  switch (mutation.kind) {
    case 'none':
      return request;
    case 'method':
      return { ...request, method: mutation.method };
    case 'target': {
      // After `/<prefix>/`: the item and the query, so that the route still matches.
      const start = `/${route.prefix}/`.length;
      const rest = request.path.slice(start);
      const { at, edit } = mutation;
      let changed: string;
      if (edit === 'percent-encode') {
        const index = at % rest.length;
        const hex = rest.charCodeAt(index).toString(16).padStart(2, '0');
        const escape = `%${mutation.lowerHex ? hex.toLowerCase() : hex.toUpperCase()}`;
        changed = `${rest.slice(0, index)}${escape}${rest.slice(index + 1)}`;
      } else {
        const index = at % (edit === 'insert' ? rest.length + 1 : rest.length);
        const inPath = index <= rest.indexOf('?');
        changed = editAt(rest, index, edit, inPath ? mutation.pathChar : mutation.queryChar);
      }
      return { ...request, path: `${request.path.slice(0, start)}${changed}` };
    }
    case 'value':
      return {
        ...request,
        headers: request.headers.map(([name, value]) => [
          name,
          name === mutation.name ? editValue(name, value, mutation) : value,
        ]),
      };
    case 'duplicate': {
      // supertest sends the lines of one name together, in order, wherever they are listed.
      const line = request.headers.find(([name]) => name === mutation.name)!;
      return { ...request, headers: [...request.headers, line] };
    }
    case 'drop':
      return { ...request, headers: request.headers.filter(([name]) => name !== mutation.name) };
    case 'body': {
      const index = BODY_STRING_OFFSETS[mutation.at % BODY_STRING_OFFSETS.length];
      const body = `${request.body.slice(0, index)}${mutation.char}${request.body.slice(index + 1)}`;
      return { ...request, body };
    }
  }
}

function editValue(
  name: string,
  value: string,
  mutation: Extract<Mutation, { kind: 'value' }>,
): string {
  if (mutation.edit === 'white space') {
    // Node's parser refuses a Content-Length that ends with a tab (400), before any app code.
    const space = name === 'Content-Length' ? ' ' : mutation.space;
    return mutation.atEnd ? `${value}${space}` : `${space}${value}`;
  }
  // Another length changes how the body is framed (the server reads too little, or waits for
  // more): a leading zero changes the field, not the length.
  if (name === 'Content-Length') return `0${value}`;
  const { at, edit, spot } = mutation;
  const offsets = spot === 'anywhere' ? [] : spotsOf(value, spot);
  if (offsets.length === 0) return editAt(value, at, edit, mutation.char);
  // Inserted after a punctuation character (a space after a space), or replaced with base64.
  const index = offsets[at % offsets.length] + (edit === 'insert' ? 1 : 0);
  return editIndex(
    value,
    index,
    edit,
    spot === 'punctuation' ? mutation.char : mutation.base64Char,
  );
}

// ---------------------------------------------------------------------------------------------
// Garbage

/** Header values Node's client sends: no control characters but tab. */
const HEADER_UNSAFE = /[^\t\x20-\x7e\x80-\xff]/g;
const latin1Text = fc.string({
  unit: fc
    .integer({ min: 0x20, max: 0xff })
    .map((code) => (code === 0x7f ? '\t' : String.fromCharCode(code))),
  maxLength: 120,
});
/**
 * Any Unicode text, as its UTF-8 bytes one latin1 character each: Node's client refuses header
 * characters above U+00FF (and sends these as UTF-8 again, with a text body).
 */
const unicodeAsBytes = fc
  .string({ unit: 'binary', maxLength: 60 })
  .map((text) => Buffer.from(text, 'utf8').toString('latin1').replace(HEADER_UNSAFE, ''));
const now = () => Math.floor(Date.now() / 1000);
/** Seconds around now (the window of validity is 60 + 15 s back, 15 s ahead), or not quite. */
const timestamp = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.integer({ min: -120, max: 120 }).map((offset) => String(now() + offset)),
  },
  { weight: 1, arbitrary: fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }).map(String) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('1e9', '1.5', '-0', '"1700000000"', '9999999999999999', '?1', ''),
  },
);
const base64Of = (minLength: number, maxLength: number) =>
  fc.uint8Array({ minLength, maxLength }).map((bytes) => Buffer.from(bytes).toString('base64'));
/** Bytes sized like the signatures and digests, or any size. */
const someBase64 = fc.oneof(
  base64Of(64, 64),
  base64Of(32, 32),
  base64Of(0, 80),
  fc.constantFrom('', '=', 'AA', 'AA=', 'AAA', 'A===', '*', 'AAAA\tAAAA'),
);
const FRAGMENTS = [
  'install=',
  'account=',
  'sig1=',
  'sha-256=',
  'sha-512=',
  'md5=',
  ':',
  '(',
  ')',
  '"@method"',
  '"@target-uri"',
  '"@query-param";name="page"',
  '"@status"',
  '"@signature-params"',
  '"approov-token"',
  '"content-digest"',
  '"content-digest";sf',
  '"authorization";key="a"',
  ';created=',
  ';expires=',
  ';alg=',
  ';keyid=',
  '"ecdsa-p256-sha256"',
  '"hmac-sha256"',
  ', ',
  ',',
  ' ',
  '=',
  '?1',
  '*',
  '"',
  '\\',
  '%"',
  ';',
];
/** Text made of pieces of the fields' grammar. */
const fragments = fc
  .array(
    fc.oneof(
      fc.constantFrom(...FRAGMENTS),
      timestamp,
      someBase64,
      someBase64.map((b) => `:${b}:`),
    ),
    { maxLength: 24 },
  )
  .map((parts) => parts.join(''));
const COMPONENTS = [
  '"@method"',
  '"@target-uri"',
  '"@authority"',
  '"@scheme"',
  '"@path"',
  '"@query"',
  '"@request-target"',
  '"@query-param";name="page"',
  '"@query-param";name="nope"',
  '"@status"',
  '"@signature-params"',
  '"approov-token"',
  '"Approov-Token"',
  '"authorization"',
  '"content-type"',
  '"content-length"',
  '"content-digest"',
  '"content-digest";sf',
  '"content-digest";key="sha-256"',
  '"content-type";bs',
  '"approov-token";tr',
  '"signature"',
  '"x-absent"',
  '@method',
  '1',
];
/** What Approov SDKs cover, in their order. */
const SDK_COMPONENTS = [
  '"@method"',
  '"@target-uri"',
  '"approov-token"',
  '"authorization"',
  '"content-length"',
  '"content-type"',
  '"content-digest"',
];
const ALGORITHMS: Readonly<Record<string, string>> = {
  install: '"ecdsa-p256-sha256"',
  account: '"hmac-sha256"',
};
/**
 * A `Signature-Input` member, mostly well formed so that the later checks run: the label's
 * algorithm, SDK components, times around now; sometimes wrong in one way or many.
 */
const signatureInputMember = fc
  .record({
    label: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('install', 'account') },
      { weight: 1, arbitrary: fc.constantFrom('sig1', 'Install', '*') },
    ),
    components: fc.oneof(
      { weight: 2, arbitrary: fc.shuffledSubarray(SDK_COMPONENTS) },
      { weight: 1, arbitrary: fc.array(fc.constantFrom(...COMPONENTS), { maxLength: 9 }) },
    ),
    created: timestamp,
    expires: fc.option(timestamp, { nil: undefined }),
    alg: fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      {
        weight: 1,
        arbitrary: fc.constantFrom('"hmac-sha256"', '"ecdsa-p256-sha256"', '"ed25519"', 'ecdsa'),
      },
    ),
    extra: fc.oneof(
      { weight: 3, arbitrary: fc.constant('') },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          ';keyid="k1"',
          ';nonce="n"',
          ';tag="approov"',
          ';foo=1',
          ';keyid=1',
        ),
      },
    ),
  })
  .map(
    ({ label, components, created, expires, alg, extra }) =>
      `${label}=(${components.join(' ')});alg=${alg ?? ALGORITHMS[label] ?? '"x"'}` +
      `;created=${created}${expires === undefined ? '' : `;expires=${expires}`}${extra}`,
  );
const signatureInput = fc
  .array(signatureInputMember, { minLength: 1, maxLength: 2 })
  .map((members) => members.join(', '));
/** A dictionary of byte sequences (or lookalikes), as `Signature` and `Content-Digest` are. */
const bytesDictionary = fc
  .array(
    fc
      .record({
        key: fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom('install', 'account', 'sha-256', 'sha-512') },
          { weight: 1, arbitrary: fc.constantFrom('md5', 'Install', '1') },
        ),
        value: fc.oneof(
          { weight: 4, arbitrary: someBase64.map((b) => `:${b}:`) },
          { weight: 1, arbitrary: someBase64.map((b) => `"${b}"`) },
          { weight: 1, arbitrary: someBase64.map((b) => `(:${b}:)`) },
          { weight: 1, arbitrary: fc.constantFrom('?1', '1', 'token', ':') },
        ),
        params: fc.oneof(
          { weight: 3, arbitrary: fc.constant('') },
          { weight: 1, arbitrary: fc.constantFrom(';a=1', ';sf') },
        ),
      })
      .map(({ key, value, params }) => `${key}=${value}${params}`),
    { minLength: 1, maxLength: 3 },
  )
  .map((members) => members.join(', '));
/** Any text a header can carry, and more often text shaped like the signature fields. */
const garbage = fc.oneof(
  { weight: 1, arbitrary: latin1Text },
  { weight: 1, arbitrary: fc.string({ maxLength: 120 }) },
  { weight: 1, arbitrary: unicodeAsBytes },
  { weight: 2, arbitrary: fragments },
  { weight: 3, arbitrary: signatureInput },
  { weight: 3, arbitrary: bytesDictionary },
);

const digestOf = (algorithm: string, body: string) =>
  createHash(algorithm).update(body).digest('base64');
/**
 * Content-Digest values that are well formed but wrong for `BODY`: random digests, the digest of
 * another body, of another algorithm, cut short, or a right one beside a wrong one (every known
 * algorithm must match). Never the right digest alone.
 */
const wrongDigest = fc.oneof(
  base64Of(32, 32).map((b) => `sha-256=:${b}:`),
  base64Of(64, 64).map((b) => `sha-512=:${b}:`),
  fc
    .nat({ max: BODY.length - 1 })
    .map((i) => `sha-256=:${digestOf('sha256', `${BODY.slice(0, i)}~${BODY.slice(i + 1)}`)}:`),
  fc.constantFrom(
    `sha-256=:${digestOf('sha512', BODY)}:`,
    `sha-512=:${digestOf('sha256', BODY)}:`,
    `sha-256=:${digestOf('sha256', BODY).slice(0, 40)}:`,
    `sha-256=:${digestOf('sha256', `${BODY}\n`)}:`,
    `sha-256=:${digestOf('sha256', '')}:`,
    `sha-256=:${digestOf('sha256', BODY)}:, sha-512=:${digestOf('sha512', `${BODY} `)}:`,
    `sha-512=:${digestOf('sha512', `${BODY} `)}:, sha-256=:${digestOf('sha256', BODY)}:`,
    `md5=:${createHash('md5').update(BODY).digest('base64')}:`,
  ),
);

const SIGNATURE_FIELDS = ['Signature', 'Signature-Input', 'Content-Digest'] as const;

// ---------------------------------------------------------------------------------------------

describe.each(ADAPTERS)('message-signing fuzzing (%s)', (adapter) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startSigningTargetApp(adapter);
  });
  afterAll(() => app.close());

  it.each(ROUTES)(
    'accepts a mutated signed request ($name) only when the server receives the same request',
    async (route) => {
      const answers = { accepted: 0, refused: 0 };
      await fc.assert(
        fc.asyncProperty(mutation, async (change) => {
          const original = signedRequest(app, route);
          const sent = mutate(original, route, change);
          const response = await send(app, sent);
          const expected = receivedOf(sent, app.address);
          if (adapter === 'fastify' && fastifyRefuses(expected)) {
            expect(response.status).toBe(415);
            expect(received.last).toBeUndefined();
            expect(handlerCalls).toEqual([]);
            expect(logs.lines).toEqual([]);
            answers.refused++;
            return;
          }
          expectReceived(response, expected);
          if (sameOnTheWire(receivedOf(original, app.address), expected)) {
            expectAccepted(response, route.handler);
            answers.accepted++;
          } else {
            expectRefused(response);
            expect(reasonOf(logs.lines[0])).not.toBe('internal_error');
            answers.refused++;
          }
        }),
        settings,
      );
      // Both answers were explored: the property did not hold vacuously (unless one case is
      // replayed).
      if (process.env.FUZZ_PATH === undefined) {
        expect(answers.accepted).toBeGreaterThan(0);
        expect(answers.refused).toBeGreaterThan(0);
      }
    },
    TIMEOUT,
  );

  it(
    'refuses garbage in Signature, Signature-Input or Content-Digest, for a signing reason',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...ROUTES),
          fc.subarray([...SIGNATURE_FIELDS], { minLength: 1 }),
          fc.tuple(garbage, garbage, garbage),
          async (route, fields, values) => {
            const original = signedRequest(app, route);
            const replacement = new Map<string, string>(fields.map((name, i) => [name, values[i]]));
            const sent: SentRequest = {
              ...original,
              headers: original.headers.map(([name, value]) => [
                name,
                replacement.get(name) ?? value,
              ]),
            };
            // Garbage that happens to be what it replaces is not garbage.
            fc.pre(
              !sameOnTheWire(receivedOf(original, app.address), receivedOf(sent, app.address)),
            );
            const response = await send(app, sent);
            expectRefused(response);
            expect(logs.levels).toEqual(['warn']);
            expect(SIGNING_FAILURES).toContain(reasonOf(logs.lines[0]));
          },
        ),
        settings,
      );
    },
    TIMEOUT,
  );

  it(
    'refuses a signed Content-Digest that is garbage, at the digest check',
    async () => {
      const reasons = new Set<string>();
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...ROUTES),
          fc.oneof(garbage, wrongDigest),
          async (route, digest) => {
            const path = pathOf(route);
            // Signed without a body, so that the garbage is signed as it is (the signer reads a
            // value as the server will: its UTF-8 bytes), then sent with the body.
            const { headers } = signApproovRequest({
              secret: SECRET,
              method: 'POST',
              url: `${app.address}${path}`,
              headers: {
                Authorization: 'Bearer session-7f3a9c',
                'Content-Type': 'application/json',
                'Content-Length': String(Buffer.byteLength(BODY)),
                'Content-Digest': digest,
              },
              labels: route.labels,
              accountKey: ACCOUNT_KEY,
            });
            const response = await send(app, {
              method: 'POST',
              path,
              headers: Object.entries(headers),
              body: BODY,
            });
            expectRefused(response);
            expect(logs.levels).toEqual(['warn']);
            const reason = reasonOf(logs.lines[0]);
            expect(['content_digest_invalid', 'content_digest_mismatch']).toContain(reason);
            reasons.add(reason!);
          },
        ),
        settings,
      );
      // Both failures of the digest check were explored (unless one case is replayed).
      if (process.env.FUZZ_PATH === undefined) expect(reasons.size).toBe(2);
    },
    TIMEOUT,
  );
});
