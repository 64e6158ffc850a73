import { isHeaderName } from '../headers/raw-headers.js';
import { ApproovConfigError } from './config-error.js';

/**
 * Checks a list of binding header names and returns them in lower case. `option` names the
 * place they came from, for the error.
 */
export function normalizeHeaderNames(names: unknown, option: string): string[] {
  if (!Array.isArray(names)) {
    throw new ApproovConfigError(
      option,
      'must be a list of header names',
      'Example: ["Authorization"].',
    );
  }
  const lowerNames = names.map((name: unknown, index) => {
    if (!isHeaderName(name)) {
      throw new ApproovConfigError(
        `${option}[${index}]`,
        'is not a valid HTTP header name',
        'Use the header name only, such as "Authorization" or "X-Device-Id".',
      );
    }
    return name.toLowerCase();
  });
  const repeated = lowerNames.find((name, index) => lowerNames.indexOf(name) !== index);
  if (repeated !== undefined) {
    throw new ApproovConfigError(option, `names "${repeated}" twice`, 'List each header once.');
  }
  return lowerNames;
}
