import { createPublicKey, type KeyObject } from 'node:crypto';
import { RecentCache } from '../cache/recent-cache.js';
import { decodeBase64 } from '../token/base64.js';

/**
 * The installation public keys of tokens (`ipk`: base64 or base64url DER SPKI, EC P-256), parsed
 * once each: `createPublicKey` costs more than the verification itself. Only verified tokens
 * reach it, so the cache holds keys Approov issued; it keeps the newest `size`.
 */
export class InstallKeys {
  private readonly keys: RecentCache<string, KeyObject | undefined>;

  constructor(size: number) {
    this.keys = new RecentCache(size);
  }

  /** The P-256 public key of `ipk`, or `undefined` when it is not one. */
  keyOf(ipk: string): KeyObject | undefined {
    if (this.keys.has(ipk)) return this.keys.get(ipk);
    const key = parseInstallKey(ipk);
    this.keys.set(ipk, key);
    return key;
  }
}

function parseInstallKey(ipk: string): KeyObject | undefined {
  const der = decodeBase64(ipk);
  if (typeof der === 'string' || der.length === 0) return undefined;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
  const isP256 =
    key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  return isP256 ? key : undefined;
}
