import {
  isInnerList,
  type Parameters,
  parseDictionary,
  parseList,
  serializeDictionary,
  serializeInnerList,
  serializeItem,
  serializeList,
} from 'structured-headers';
import { isHeaderName, readCombinedHeader } from '../headers/raw-headers.js';
import { type Failed, failed } from './signing-failure.js';

/** A request as RFC 9421 signs it, read from the transport once. */
export interface SignedRequest {
  /** The method, as received. */
  readonly method: string;
  /** The scheme the client used, lower case: `https`. */
  readonly scheme: string;
  /** The authority the client used, normalised: lower case, without the scheme's default port. */
  readonly authority: string;
  /** The request target in origin form, path and query as received: `/orders?id=7`. */
  readonly target: string;
  /** Header names and values, alternating as in Node's `rawHeaders`. */
  readonly rawHeaders: readonly string[];
  /**
   * The body's bytes as received; empty when there was none; `undefined` when one was sent but
   * the app keeps no raw body.
   */
  readonly body: Buffer | undefined;
}

/** The parts of an absolute URI that a signature covers; the fragment is never sent. */
const ABSOLUTE_URI = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^#]*)/;

/**
 * The scheme (lower case), authority (normalised) and request target of an absolute URI, as a
 * client sends it: an empty path is `/`. `undefined` when `uri` is not an absolute URI.
 */
export function splitAbsoluteUri(
  uri: unknown,
): Pick<SignedRequest, 'scheme' | 'authority' | 'target'> | undefined {
  const parts = typeof uri === 'string' ? ABSOLUTE_URI.exec(uri) : null;
  if (parts === null) return undefined;
  const [, scheme, authority, rest] = parts;
  const lowerScheme = scheme.toLowerCase();
  return {
    scheme: lowerScheme,
    authority: normalizeAuthority(lowerScheme, authority),
    target: rest.startsWith('/') ? rest : `/${rest}`,
  };
}

const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: ':80', https: ':443' };

/**
 * The authority as RFC 9110 section 4.2.3 normalises it for comparison: lower case, and without
 * the default port of `scheme`.
 */
export function normalizeAuthority(scheme: string, authority: string): string {
  const lower = authority.toLowerCase();
  const defaultPort = DEFAULT_PORTS[scheme];
  return defaultPort !== undefined && lower.endsWith(defaultPort)
    ? lower.slice(0, -defaultPort.length)
    : lower;
}

/** Whether the headers announce a body: a non-zero `Content-Length`, or `Transfer-Encoding`. */
export function declaresBody(rawHeaders: readonly string[]): boolean {
  const length = readCombinedHeader(rawHeaders, 'content-length');
  return (
    (length !== undefined && length !== '0') ||
    readCombinedHeader(rawHeaders, 'transfer-encoding') !== undefined
  );
}

/** Derived components (RFC 9421 section 2.2) that a request has. */
const DERIVED_COMPONENTS: ReadonlySet<string> = new Set([
  '@method',
  '@target-uri',
  '@authority',
  '@scheme',
  '@request-target',
  '@path',
  '@query',
  '@query-param',
]);

/** Whether `name` names a derived component of a request. */
export const isDerivedComponent = (name: string): boolean => DERIVED_COMPONENTS.has(name);

/**
 * The types of the structured fields that the `sf` parameter can re-serialise: a verifier must
 * know a field's type (RFC 9421 section 2.1.1), and these are the registered ones a client may
 * sign.
 */
const STRUCTURED_FIELDS: Readonly<Record<string, 'dictionary' | 'list'>> = {
  'accept-signature': 'dictionary',
  'cache-status': 'list',
  'cdn-cache-control': 'dictionary',
  'content-digest': 'dictionary',
  priority: 'dictionary',
  'proxy-status': 'list',
  'repr-digest': 'dictionary',
  signature: 'dictionary',
  'signature-input': 'dictionary',
  'want-content-digest': 'dictionary',
  'want-repr-digest': 'dictionary',
};

/**
 * The value of the covered component `name` with `params` (RFC 9421 section 2), or why the
 * request cannot give one: a component it lacks is `signature_component_missing`, a component
 * or parameter this verifier does not know is `malformed_signature`.
 */
export function componentValue(
  request: SignedRequest,
  name: string,
  params: Parameters,
): string | Failed {
  return name.startsWith('@')
    ? derivedValue(request, name, params)
    : fieldValue(request.rawHeaders, name, params);
}

function derivedValue(request: SignedRequest, name: string, params: Parameters): string | Failed {
  if (name === '@query-param') return queryParamValue(request.target, params);
  if (params.size > 0) return failed('malformed_signature');
  const { target } = request;
  const queryStart = target.indexOf('?');
  switch (name) {
    case '@method':
      return request.method;
    case '@target-uri':
      return `${request.scheme}://${request.authority}${target}`;
    case '@authority':
      return request.authority;
    case '@scheme':
      return request.scheme;
    case '@request-target':
      return target;
    case '@path':
      return (queryStart < 0 ? target : target.slice(0, queryStart)) || '/';
    case '@query':
      return queryStart < 0 ? '?' : target.slice(queryStart);
    default:
      // `@status` belongs to responses; anything else is unknown.
      return failed('malformed_signature');
  }
}

/**
 * `@query-param;name=...` (RFC 9421 section 2.2.8): the one parameter whose encoded name is
 * `name`, its value decoded as a form and encoded again. A name that occurs more than once cannot
 * be signed this way.
 */
function queryParamValue(target: string, params: Parameters): string | Failed {
  const name: unknown = params.get('name');
  if (typeof name !== 'string' || params.size !== 1) return failed('malformed_signature');
  const queryStart = target.indexOf('?');
  let value: string | undefined;
  let occurrences = 0;
  if (queryStart >= 0) {
    for (const [entryName, entryValue] of new URLSearchParams(target.slice(queryStart + 1))) {
      if (encodeFormComponent(entryName) === name) {
        occurrences += 1;
        value = encodeFormComponent(entryValue);
      }
    }
  }
  if (occurrences > 1) return failed('malformed_signature');
  return value ?? failed('signature_component_missing');
}

/** Bytes that "percent-encode after encoding" (WHATWG URL, form serializing) keeps as they are. */
const FORM_SAFE = /[A-Za-z0-9*\-._]/;

/**
 * Percent-encodes the UTF-8 bytes of `text` with the application/x-www-form-urlencoded set, a
 * space as `%20` (RFC 9421 section 2.2.8 uses the encoding step, without its space-as-plus).
 */
export function encodeFormComponent(text: string): string {
  let encoded = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    encoded +=
      byte < 0x80 && FORM_SAFE.test(char)
        ? char
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

/**
 * An HTTP field (RFC 9421 section 2.1): its values combined; with `sf`, re-serialised strictly;
 * with `key`, the one member of a dictionary field.
 */
function fieldValue(
  rawHeaders: readonly string[],
  name: string,
  params: Parameters,
): string | Failed {
  if (!isHeaderName(name) || name !== name.toLowerCase()) return failed('malformed_signature');
  for (const [param, value] of params) {
    const known =
      (param === 'sf' && value === true) || (param === 'key' && typeof value === 'string');
    // `bs`, `req` and `tr` concern byte sequences, responses and trailers: not Approov's requests.
    if (!known) return failed('malformed_signature');
  }
  const value = readCombinedHeader(rawHeaders, name);
  if (value === undefined) return failed('signature_component_missing');
  const key: unknown = params.get('key');
  if (typeof key === 'string') return dictionaryMember(value, key);
  if (params.has('sf')) return strictlySerialized(name, value);
  return value;
}

function dictionaryMember(value: string, key: string): string | Failed {
  let member;
  try {
    member = parseDictionary(value).get(key);
  } catch {
    return failed('malformed_signature');
  }
  if (member === undefined) return failed('signature_component_missing');
  return isInnerList(member) ? serializeInnerList(member) : serializeItem(member);
}

function strictlySerialized(name: string, value: string): string | Failed {
  const type = STRUCTURED_FIELDS[name];
  if (type === undefined) return failed('malformed_signature');
  try {
    return type === 'dictionary'
      ? serializeDictionary(parseDictionary(value))
      : serializeList(parseList(value));
  } catch {
    return failed('malformed_signature');
  }
}
