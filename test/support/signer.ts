import { createHash, createHmac, type KeyObject, sign } from 'node:crypto';

/**
 * An RFC 9421 signer written apart from the library (it uses neither its verifier nor its
 * testing helper, nor a structured-fields library): it writes the signature base by hand, as
 * the Approov SDKs build it, so that a misreading of the RFC on one side shows up as a failure.
 */

/** The SDK's order: these three, then the headers below that the request has. */
const SDK_COMPONENTS = ['"@method"', '"@target-uri"', '"approov-token"'];
const SDK_HEADERS = [
  'approov-traceid',
  'approov-status',
  'authorization',
  'content-length',
  'content-type',
  'content-digest',
];

export const ALGORITHMS = { install: 'ecdsa-p256-sha256', account: 'hmac-sha256' } as const;

/** A request as the client sends it. */
export interface ClientRequest {
  method: string;
  /** The URL the client uses, which `@target-uri` covers. */
  url: string;
  /** Headers in the order sent. */
  headers: [string, string][];
  body?: string;
}

/** One signature to make. */
export interface SignatureSpec {
  label: string;
  /** The key: an install private key (ECDSA P-256) or an account key (HMAC). */
  key: { install: KeyObject } | { account: Buffer };
  /** Serialised component identifiers, such as `"@method"` or `"content-digest";sf`. */
  components?: string[];
  /** Values given by the test for identifiers this signer does not derive (`sf`, `key`). */
  values?: Record<string, string>;
  /** The parameters as written after the inner list, such as `;alg="hmac-sha256";created=1`. */
  params?: string;
  /** Send the signature as an RFC 9651 string instead of a byte sequence. */
  asString?: boolean;
  /** ECDSA signatures in DER instead of raw r||s. */
  der?: boolean;
}

/** The clock's second, as the SDK writes `created`. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** The parameters an SDK writes for `label`: `alg`, `created` now, `expires` 15 s later. */
export function sdkParams(label: keyof typeof ALGORITHMS, created = nowSeconds()): string {
  return `;alg="${ALGORITHMS[label]}";created=${created};expires=${created + 15}`;
}

/** `Content-Digest` of `body`: sha-256 (or sha-512) as a byte sequence. */
export function contentDigest(body: string, algorithm: 'sha-256' | 'sha-512' = 'sha-256'): string {
  const digest = createHash(algorithm.replace('-', '')).update(body).digest('base64');
  return `${algorithm}=:${digest}:`;
}

/** The components an SDK covers for `request`. */
export function sdkComponents(request: ClientRequest): string[] {
  const present = new Set(request.headers.map(([name]) => name.toLowerCase()));
  return [
    ...SDK_COMPONENTS,
    ...SDK_HEADERS.filter((name) => present.has(name)).map((n) => `"${n}"`),
  ];
}

/** The value of a component identifier, derived by hand from the request as sent. */
function valueOf(
  request: ClientRequest,
  identifier: string,
  given: Record<string, string>,
): string {
  if (identifier in given) return given[identifier];
  const url = /^(\w+):\/\/([^/?]+)([^?]*)(\?.*)?$/.exec(request.url)!;
  const [, scheme, authority, path, query] = url;
  switch (identifier) {
    case '"@method"':
      return request.method;
    case '"@target-uri"':
      return request.url;
    case '"@authority"':
      return authority.toLowerCase();
    case '"@scheme"':
      return scheme.toLowerCase();
    case '"@path"':
      return path;
    case '"@query"':
      return query ?? '?';
    case '"@request-target"':
      return `${path}${query ?? ''}`;
  }
  const name = /^"([a-z0-9-]+)"$/.exec(identifier)?.[1];
  if (name === undefined) throw new Error(`signer: give the value of ${identifier}`);
  const values = request.headers.filter(([field]) => field.toLowerCase() === name);
  if (values.length === 0) throw new Error(`signer: the request has no ${name}`);
  return values.map(([, value]) => value.trim()).join(', ');
}

/** The signature base of `spec` over `request`, as RFC 9421 section 2.5 writes it. */
export function baseOf(request: ClientRequest, spec: SignatureSpec): string {
  const components = spec.components ?? sdkComponents(request);
  const label = 'install' in spec.key ? 'install' : 'account';
  const lines = components.map(
    (identifier) => `${identifier}: ${valueOf(request, identifier, spec.values ?? {})}`,
  );
  const params = spec.params ?? sdkParams(label);
  return [...lines, `"@signature-params": (${components.join(' ')})${params}`].join('\n');
}

/** The `Signature-Input` and `Signature` headers of `request` signed by each spec. */
export function signRequest(
  request: ClientRequest,
  ...specs: SignatureSpec[]
): { input: string; signature: string } {
  const inputs: string[] = [];
  const signatures: string[] = [];
  for (const spec of specs) {
    const components = spec.components ?? sdkComponents(request);
    const label = 'install' in spec.key ? 'install' : 'account';
    const base = Buffer.from(baseOf(request, spec), 'latin1');
    const bytes =
      'install' in spec.key
        ? sign('sha256', base, {
            key: spec.key.install,
            dsaEncoding: spec.der ? 'der' : 'ieee-p1363',
          })
        : createHmac('sha256', spec.key.account).update(base).digest();
    const b64 = bytes.toString('base64');
    inputs.push(`${spec.label}=(${components.join(' ')})${spec.params ?? sdkParams(label)}`);
    signatures.push(spec.asString ? `${spec.label}="${b64}"` : `${spec.label}=:${b64}:`);
  }
  return { input: inputs.join(', '), signature: signatures.join(', ') };
}
