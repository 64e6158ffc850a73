/** The JWS algorithms (RFC 7518 section 3.1, RFC 8037) a verification key can be configured for. */
export const JWS_ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

export type JwsAlgorithm = (typeof JWS_ALGORITHMS)[number];

/** How an algorithm signs: which kind of key it takes and how its signature is checked. */
export type AlgorithmFamily = 'hmac' | 'rsa' | 'rsa-pss' | 'ecdsa' | 'eddsa';

export interface AlgorithmSpec {
  readonly family: AlgorithmFamily;
  /** Node's name of the hash; `undefined` for EdDSA, whose curve fixes it. */
  readonly hash: string | undefined;
  /** Bytes of the hash output: an HMAC key's minimum size (RFC 7518 section 3.2), PSS's salt. */
  readonly hashBytes: number;
  /** For ECDSA, Node's name of the curve the key must be on (RFC 7518 section 3.4). */
  readonly curve?: string;
  /** For ECDSA, the bytes of one coordinate: the signature is exactly two of them, r || s. */
  readonly coordinateBytes?: number;
}

const sha = (bits: 256 | 384 | 512) => ({ hash: `sha${bits}`, hashBytes: bits / 8 });

export const ALGORITHM_SPECS: Readonly<Record<JwsAlgorithm, AlgorithmSpec>> = {
  HS256: { family: 'hmac', ...sha(256) },
  HS384: { family: 'hmac', ...sha(384) },
  HS512: { family: 'hmac', ...sha(512) },
  RS256: { family: 'rsa', ...sha(256) },
  RS384: { family: 'rsa', ...sha(384) },
  RS512: { family: 'rsa', ...sha(512) },
  PS256: { family: 'rsa-pss', ...sha(256) },
  PS384: { family: 'rsa-pss', ...sha(384) },
  PS512: { family: 'rsa-pss', ...sha(512) },
  ES256: { family: 'ecdsa', ...sha(256), curve: 'prime256v1', coordinateBytes: 32 },
  ES384: { family: 'ecdsa', ...sha(384), curve: 'secp384r1', coordinateBytes: 48 },
  ES512: { family: 'ecdsa', ...sha(512), curve: 'secp521r1', coordinateBytes: 66 },
  EdDSA: { family: 'eddsa', hash: undefined, hashBytes: 0 },
};

const ALGORITHM_NAMES: ReadonlySet<string> = new Set(JWS_ALGORITHMS);

export function isJwsAlgorithm(value: unknown): value is JwsAlgorithm {
  return typeof value === 'string' && ALGORITHM_NAMES.has(value);
}

/** RSA keys shorter than this are refused (RFC 7518 section 3.3 asks for at least 2048 bits). */
export const MIN_RSA_BITS = 2048;
