import {
  type InnerList,
  type Parameters,
  serializeItem,
  serializeParameters,
} from 'structured-headers';
import { componentValue, type SignedRequest } from './signed-request.js';
import { type Failed, failed, isFailed } from './signing-failure.js';

/**
 * The signature base of `request` for the covered components and parameters of `input`, exactly
 * as RFC 9421 section 2.5 builds it: one line per component, its identifier, `: ` and its value,
 * then the `@signature-params` line serialised from the parsed input. A component that is not a
 * string, repeated, or `@signature-params` itself is `malformed_signature`.
 */
export function signatureBase(request: SignedRequest, input: InnerList): string | Failed {
  const identifiers: string[] = [];
  let base = '';
  for (const [name, params] of input[0]) {
    if (typeof name !== 'string' || name === '@signature-params') {
      return failed('malformed_signature');
    }
    const value = componentValue(request, name, params);
    if (isFailed(value)) return value;
    // A line break would let one value pose as further lines.
    if (value.includes('\n')) return failed('malformed_signature');
    // A name with a value is a derived component or a lower-case field name: a string with
    // nothing to escape, so only parameters need the serialiser.
    const identifier = params.size === 0 ? `"${name}"` : serializeItem(name, params);
    if (identifiers.includes(identifier)) return failed('malformed_signature');
    identifiers.push(identifier);
    base += `${identifier}: ${value}\n`;
  }
  // The inner list as RFC 9651 serialises it, from the identifiers already serialised.
  return `${base}"@signature-params": (${identifiers.join(' ')})${parametersText(input[1])}`;
}

/** Serialised parameters, kept while their parsed input is: a kept input serves many requests. */
const serializedParameters = new WeakMap<Parameters, string>();

function parametersText(params: Parameters): string {
  let text = serializedParameters.get(params);
  if (text === undefined) {
    text = serializeParameters(params);
    serializedParameters.set(params, text);
  }
  return text;
}
