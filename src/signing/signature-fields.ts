import {
  type Dictionary,
  type InnerList,
  isInnerList,
  type Parameters,
  parseDictionary,
} from 'structured-headers';
import { RecentCache } from '../cache/recent-cache.js';
import { readCombinedHeader } from '../headers/raw-headers.js';
import { decodeBase64 } from '../token/base64.js';
import { type Failed, failed } from './signing-failure.js';

/** One signature of a request: what it covers, its parameters, and its bytes. */
export interface LabelledSignature {
  /** The covered components and the signature parameters, as `Signature-Input` gives them. */
  readonly input: InnerList;
  readonly params: Parameters;
  readonly signature: Buffer;
}

/** The `Signature-Input` and `Signature` dictionaries of a request, parsed once. */
export interface SignatureFields {
  readonly inputs: Dictionary;
  readonly signatures: Dictionary;
}

/** How many `Signature-Input` texts to keep parsed, and the longest kept: an SDK's is shorter. */
const PARSED_INPUTS = 256;
const LONGEST_KEPT_INPUT = 1024;

/**
 * Reads the request's `Signature-Input` and `Signature` fields as RFC 9651 dictionaries (repeated
 * fields combined first, as RFC 9110 says). Either field absent is `missing_signature`; either
 * unparsable is `malformed_signature`.
 *
 * Parsed inputs are kept by their text, the newest `PARSED_INPUTS` of at most
 * `LONGEST_KEPT_INPUT` characters (so that a flood of odd inputs costs little memory): an SDK
 * names the same components and parameters for every request it signs in the same second, so one
 * parse serves them all. A signature is new each time.
 */
export class SignatureFieldReader {
  private readonly inputs = new RecentCache<string, Dictionary>(PARSED_INPUTS);

  read(rawHeaders: readonly string[]): SignatureFields | Failed {
    const input = readCombinedHeader(rawHeaders, 'signature-input');
    const signature = readCombinedHeader(rawHeaders, 'signature');
    if (input === undefined || signature === undefined) return failed('missing_signature');
    try {
      return { inputs: this.parseInput(input), signatures: parseDictionary(signature) };
    } catch {
      return failed('malformed_signature');
    }
  }

  private parseInput(text: string): Dictionary {
    let inputs = this.inputs.get(text);
    if (inputs === undefined) {
      inputs = parseDictionary(text);
      if (text.length > LONGEST_KEPT_INPUT) return inputs;
      this.inputs.set(text, inputs);
    }
    return inputs;
  }
}

/**
 * The signature labelled `label`, which must be in both fields: an inner list of covered
 * components in `Signature-Input`, and in `Signature` a byte sequence, or a string of base64 as
 * some clients send it.
 */
export function labelledSignature(
  fields: SignatureFields,
  label: string,
): LabelledSignature | Failed {
  const input = fields.inputs.get(label);
  const member = fields.signatures.get(label);
  if (input === undefined || member === undefined) return failed('missing_signature');
  if (!isInnerList(input) || isInnerList(member)) return failed('malformed_signature');
  const signature = bytesOf(member[0]);
  if (signature === undefined) return failed('malformed_signature');
  return { input, params: input[1], signature };
}

/** The bytes of a byte sequence, or of a base64 string; `undefined` for anything else. */
export function bytesOf(value: unknown): Buffer | undefined {
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (typeof value !== 'string') return undefined;
  const bytes = decodeBase64(value);
  return typeof bytes === 'string' ? undefined : bytes;
}
