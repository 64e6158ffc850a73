/** Marks a header that was sent more than once. */
export const REPEATED_HEADER = Symbol('repeated header');

/**
 * The single value of the header `name` (lower case) in Node's `rawHeaders` list: `undefined`
 * when absent, `REPEATED_HEADER` when sent more than once. It reads the raw list because Node's
 * parsed headers join repeats with a comma, and keep only the first `Authorization`, which would
 * hide a second one from the binding check.
 */
export function readSingleHeader(
  rawHeaders: readonly string[],
  name: string,
): string | undefined | typeof REPEATED_HEADER {
  let value: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const field = rawHeaders[i];
    if (field.length === name.length && field.toLowerCase() === name) {
      if (value !== undefined) return REPEATED_HEADER;
      value = rawHeaders[i + 1];
    }
  }
  return value;
}

/** Spaces and tabs around a field value (RFC 9110 section 5.6.3), and nothing else. */
const OPTIONAL_WHITESPACE = /^[ \t]+|[ \t]+$/g;

/**
 * All the values of the header `name` (lower case) in Node's `rawHeaders` list, each without
 * surrounding spaces and tabs,
 * joined with `, ` as RFC 9110 section 5.3 combines repeated fields; `undefined` when absent.
 */
export function readCombinedHeader(
  rawHeaders: readonly string[],
  name: string,
): string | undefined {
  let combined: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const field = rawHeaders[i];
    if (field.length === name.length && field.toLowerCase() === name) {
      const value = rawHeaders[i + 1].replace(OPTIONAL_WHITESPACE, '');
      combined = combined === undefined ? value : `${combined}, ${value}`;
    }
  }
  return combined;
}

/** Field names as RFC 9110 section 5.1 allows them: a `token`. */
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Whether `name` can be an HTTP header name. */
export function isHeaderName(name: unknown): name is string {
  return typeof name === 'string' && FIELD_NAME.test(name);
}
