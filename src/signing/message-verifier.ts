import { createHmac, type KeyObject, timingSafeEqual, verify } from 'node:crypto';
import type { Parameters } from 'structured-headers';
import { readCombinedHeader } from '../headers/raw-headers.js';
import type { ApproovClaims } from '../token/claims.js';
import { checkContentDigest } from './content-digest.js';
import { InstallKeys } from './install-keys.js';
import { signatureBase } from './signature-base.js';
import {
  labelledSignature,
  type LabelledSignature,
  SignatureFieldReader,
} from './signature-fields.js';
import type { SignedRequest } from './signed-request.js';
import { isFailed, type SigningFailure } from './signing-failure.js';

/** The signatures Approov SDKs make: with the installation's key, or with the account's. */
export type ApproovSignatureLabel = 'install' | 'account';

/** The algorithm each label must name in its `alg` parameter. */
export const LABEL_ALGORITHMS: Readonly<Record<ApproovSignatureLabel, string>> = {
  install: 'ecdsa-p256-sha256',
  account: 'hmac-sha256',
};

/** What a route requires of a request's signatures. */
export interface MessageSigningPolicy {
  /** The labels whose signatures must be present and valid, in the order they are checked. */
  readonly labels: readonly ApproovSignatureLabel[];
  /** Components every required signature must cover: derived names or lower-case field names. */
  readonly components: readonly string[];
  /** A request with a body must cover `content-digest`. */
  readonly requireContentDigest: boolean;
  readonly maxAgeSeconds: number;
  readonly clockToleranceSeconds: number;
  /** Let a token without `ipk` (from the fail-over service) skip the install signature. */
  readonly allowMissingIpk: boolean;
  /** Accept each signature once: the guard claims the accepted ones in a replay store. */
  readonly replay: boolean;
}

/** A signature that passed every check, as a replay check remembers it. */
export interface AcceptedSignature {
  readonly label: ApproovSignatureLabel;
  readonly signature: Buffer;
  /** The last moment, in seconds since the epoch, at which it passes the time checks. */
  readonly validUntilSeconds: number;
}

/** The account message-signing key, for `account` signatures. */
export interface AccountSigningKey {
  readonly key: KeyObject;
  /** When set, the token's `mskid` must equal it. */
  readonly keyId?: string;
}

/** Parameters a signature may carry (RFC 9421 section 2.3); any other is refused. */
const SIGNATURE_PARAMETERS: ReadonlySet<string> = new Set([
  'alg',
  'created',
  'expires',
  'keyid',
  'nonce',
  'tag',
]);

const ECDSA_P256_SIGNATURE_BYTES = 64;
const HMAC_SHA256_BYTES = 32;

/**
 * Verifies the RFC 9421 message signatures of a request whose token is valid: each required
 * label's signature present in `Signature-Input` and `Signature`, its parameters and age, the
 * components it covers, the signature itself, and the `Content-Digest` of the body it covers.
 */
export class MessageSignatureVerifier {
  private readonly installKeys: InstallKeys;
  private readonly fields = new SignatureFieldReader();

  constructor(
    private readonly accountKey: AccountSigningKey | undefined,
    installKeyCacheSize: number,
  ) {
    this.installKeys = new InstallKeys(installKeyCacheSize);
  }

  /**
   * Why the request's signatures fail `policy` at `nowSeconds`, or `undefined` when they pass.
   * When they pass, `accepted`, if given, receives each checked label's signature.
   */
  verify(
    request: SignedRequest,
    claims: ApproovClaims,
    policy: MessageSigningPolicy,
    nowSeconds: number,
    accepted?: AcceptedSignature[],
  ): SigningFailure | undefined {
    const hasIpk = Object.hasOwn(claims, 'ipk');
    // A fail-over token carries no ipk: the install signature cannot be checked, by choice.
    const labels =
      !hasIpk && policy.allowMissingIpk
        ? policy.labels.filter((label) => label !== 'install')
        : policy.labels;
    if (labels.length === 0) return undefined;
    const fields = this.fields.read(request.rawHeaders);
    if (isFailed(fields)) return fields.failure;
    const hasBody = request.body === undefined || request.body.length > 0;
    let coversDigest = false;
    for (const label of labels) {
      const signature = labelledSignature(fields, label);
      if (isFailed(signature)) return signature.failure;
      const validUntilSeconds = checkParameters(signature.params, label, policy, nowSeconds);
      if (typeof validUntilSeconds === 'string') return validUntilSeconds;
      const failure =
        checkCoverage(signature, policy, hasBody) ??
        this.checkSignature(request, claims, label, signature);
      if (failure !== undefined) return failure;
      coversDigest ||= covers(signature, 'content-digest');
      accepted?.push({ label, signature: signature.signature, validUntilSeconds });
    }
    if (!coversDigest) return undefined;
    if (request.body === undefined) return 'body_unavailable';
    // Present: the signature base needed it.
    return checkContentDigest(
      readCombinedHeader(request.rawHeaders, 'content-digest')!,
      request.body,
    );
  }

  private checkSignature(
    request: SignedRequest,
    claims: ApproovClaims,
    label: ApproovSignatureLabel,
    { input, signature }: LabelledSignature,
  ): SigningFailure | undefined {
    let key: KeyObject | undefined;
    if (label === 'install') {
      if (!Object.hasOwn(claims, 'ipk')) return 'missing_ipk';
      key = typeof claims.ipk === 'string' ? this.installKeys.keyOf(claims.ipk) : undefined;
      if (key === undefined) return 'invalid_ipk';
      // Raw r||s (IEEE P1363), as the SDKs sign; a DER signature is another encoding.
      if (signature.length !== ECDSA_P256_SIGNATURE_BYTES) return 'malformed_signature';
    } else {
      const { accountKey } = this;
      if (accountKey === undefined) return 'signature_mismatch';
      if (accountKey.keyId !== undefined && claims.mskid !== accountKey.keyId) {
        return 'mskid_mismatch';
      }
      key = accountKey.key;
    }
    const base = signatureBase(request, input);
    if (isFailed(base)) return base.failure;
    // The base is text of one byte per character: header values as Node read their bytes.
    const valid =
      label === 'install'
        ? verify(
            'sha256',
            Buffer.from(base, 'latin1'),
            { key, dsaEncoding: 'ieee-p1363' },
            signature,
          )
        : signature.length === HMAC_SHA256_BYTES &&
          timingSafeEqual(createHmac('sha256', key).update(base, 'latin1').digest(), signature);
    return valid ? undefined : 'signature_mismatch';
  }
}

/**
 * Checks a signature's parameters: only known ones, `alg` naming the label's algorithm, an integer
 * `created` neither in the future nor older than `maxAgeSeconds`, and an `expires`, when present,
 * not before `created` and not past (each give or take the tolerance). Returns the failure, or
 * the last moment the signature passes these checks.
 */
function checkParameters(
  params: Parameters,
  label: ApproovSignatureLabel,
  policy: MessageSigningPolicy,
  nowSeconds: number,
): SigningFailure | number {
  for (const [name, value] of params) {
    if (!SIGNATURE_PARAMETERS.has(name)) return 'signature_params_invalid';
    if ((name === 'keyid' || name === 'nonce' || name === 'tag') && typeof value !== 'string') {
      return 'signature_params_invalid';
    }
  }
  const created: unknown = params.get('created');
  const expires: unknown = params.get('expires');
  if (params.get('alg') !== LABEL_ALGORITHMS[label] || !Number.isSafeInteger(created)) {
    return 'signature_params_invalid';
  }
  const createdSeconds = created as number;
  if (
    expires !== undefined &&
    (!Number.isSafeInteger(expires) || (expires as number) < createdSeconds)
  ) {
    return 'signature_params_invalid';
  }
  const tolerance = policy.clockToleranceSeconds;
  const oldest = createdSeconds + policy.maxAgeSeconds + tolerance;
  // `expires` itself is past: the signature passes until just before it.
  const expired = expires === undefined ? Infinity : (expires as number) + tolerance;
  if (createdSeconds > nowSeconds + tolerance) return 'signature_not_yet_valid';
  if (nowSeconds > oldest || nowSeconds >= expired) return 'signature_expired';
  return Math.min(oldest, expired);
}

/**
 * Checks that a signature covers every component the policy requires, and `content-digest` when
 * the request has a body and the policy requires it.
 */
function checkCoverage(
  signature: LabelledSignature,
  policy: MessageSigningPolicy,
  hasBody: boolean,
): SigningFailure | undefined {
  for (const component of policy.components) {
    if (!covers(signature, component)) return 'signature_component_missing';
  }
  if (hasBody && policy.requireContentDigest && !covers(signature, 'content-digest')) {
    return 'content_digest_missing';
  }
  return undefined;
}

/**
 * Whether the signature covers the whole of `component`: a field strictly serialised (`sf`)
 * still counts; one member of it (`key`) does not.
 */
function covers({ input }: LabelledSignature, component: string): boolean {
  return input[0].some(
    ([name, params]) =>
      name === component && (params.size === 0 || (params.size === 1 && params.get('sf') === true)),
  );
}
