import { type InnerList, serializeInnerList, serializeItem } from 'structured-headers';
import { componentValue, type SignedRequest } from './signed-request.js';
import { type Failed, failed, isFailed } from './signing-failure.js';

/**
 * The signature base of `request` for the covered components and parameters of `input`, exactly
 * as RFC 9421 section 2.5 builds it: one line per component, its identifier, `: ` and its value,
 * then the `@signature-params` line serialised from the parsed input. A component that is not a
 * string, repeated, or `@signature-params` itself is `malformed_signature`.
 */
export function signatureBase(request: SignedRequest, input: InnerList): string | Failed {
  const seen = new Set<string>();
  let base = '';
  for (const [name, params] of input[0]) {
    if (typeof name !== 'string' || name === '@signature-params') {
      return failed('malformed_signature');
    }
    const identifier = serializeItem(name, params);
    if (seen.has(identifier)) return failed('malformed_signature');
    seen.add(identifier);
    const value = componentValue(request, name, params);
    if (isFailed(value)) return value;
    // A line break would let one value pose as further lines.
    if (value.includes('\n')) return failed('malformed_signature');
    base += `${identifier}: ${value}\n`;
  }
  return `${base}"@signature-params": ${serializeInnerList(input)}`;
}
