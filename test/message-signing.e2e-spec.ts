import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { All, Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import {
  ApproovClaims,
  ApproovConfigError,
  ApproovGuard,
  ApproovMessageSigning,
  ApproovMode,
  ApproovModule,
  type ApproovModuleOptions,
  ApproovTokenBinding,
  ApproovVerified,
  SkipApproov,
} from 'nestjs-approov';
import { generateApproovInstallKey, signApproovRequest } from 'nestjs-approov/testing';
import {
  signingVectors,
  APPROOV_SIGNING_VECTORS,
  type SigningVector,
} from './support/signing-vectors.js';
import {
  type ClientRequest,
  contentDigest,
  nowSeconds,
  sdkComponents,
  sdkParams,
  type SignatureSpec,
  signRequest,
} from './support/signer.js';
import {
  ADAPTERS,
  type AdapterName,
  expectAccepted,
  expectRefused,
  handlerCalls,
  logs,
  ran,
  TestApp,
} from './support/test-app.js';
import { mint, SECRET, vectors } from './support/tokens.js';

const ACCOUNT_KEY = randomBytes(32);
const ACCOUNT_KEY_ID = 'account-key-1';

@Controller()
class SignedController {
  @All('orders')
  orders(): object {
    return ran('orders');
  }

  @All('items/:id')
  item(): object {
    return ran('item');
  }

  @HttpCode(200)
  @Post('account')
  @ApproovMessageSigning({ labels: ['account'] })
  account(): object {
    return ran('account');
  }

  @HttpCode(200)
  @Post('both')
  @ApproovMessageSigning({ labels: ['install', 'account'] })
  both(): object {
    return ran('both');
  }

  @Get('fail-over')
  @ApproovMessageSigning({ allowMissingIpk: true })
  failOver(): object {
    return ran('failOver');
  }

  @Get('unsigned')
  @ApproovMessageSigning(false)
  unsigned(): object {
    return ran('unsigned');
  }

  @Get('open')
  @SkipApproov()
  open(): object {
    return ran('open');
  }

  @Get('bound')
  @ApproovTokenBinding('Authorization')
  bound(): object {
    return ran('bound');
  }

  @Get('monitored')
  @ApproovMode('monitor')
  monitored(
    @ApproovClaims('did') did: string | undefined,
    @ApproovVerified() verified: boolean,
  ): object {
    ran('monitored');
    return { did: did ?? null, verified };
  }
}

const SIGNING: ApproovModuleOptions['messageSigning'] = {
  accountKey: ACCOUNT_KEY.toString('base64url'),
  accountKeyId: ACCOUNT_KEY_ID,
};

const startApp = (
  adapter: AdapterName,
  messageSigning: ApproovModuleOptions['messageSigning'] = SIGNING,
  options: { rawBody?: boolean; trustProxy?: boolean } = {},
) =>
  TestApp.start(
    adapter,
    {
      imports: [ApproovModule.forRoot({ secret: SECRET, messageSigning })],
      controllers: [SignedController],
      providers: [{ provide: APP_GUARD, useExisting: ApproovGuard }],
    },
    {
      rawBody: options.rawBody ?? true,
      trustProxy: options.trustProxy,
      configure: (app) => {
        if (adapter === 'express' && options.trustProxy) {
          (app as NestExpressApplication).set('trust proxy', true);
        }
      },
    },
  );

const installKey = generateApproovInstallKey();
const INSTALL = { install: installKey.privateKey };
const ACCOUNT = { account: ACCOUNT_KEY };
const BODY = '{"item":"book","quantity":1}';

/** A POST of a JSON body with a token carrying the install key, as an SDK sends it. */
function sdkRequest(app: TestApp, path = '/orders', claims: Record<string, unknown> = {}) {
  const token = mint({
    claims: { ipk: installKey.ipk, mskid: ACCOUNT_KEY_ID, did: 'device-1', ...claims },
  });
  const request: ClientRequest = {
    method: 'POST',
    url: `${app.address}${path}`,
    headers: [
      ['Approov-Token', token],
      ['Approov-TraceID', 'trace-1'],
      ['Authorization', 'Bearer user-1'],
      ['Content-Length', String(Buffer.byteLength(BODY))],
      ['Content-Type', 'application/json'],
      ['Content-Digest', contentDigest(BODY)],
    ],
    body: BODY,
  };
  return request;
}

/** A GET without a body, as an SDK sends it. */
function sdkGet(app: TestApp, path: string, claims: Record<string, unknown> = {}): ClientRequest {
  const token = mint({ claims: { ipk: installKey.ipk, mskid: ACCOUNT_KEY_ID, ...claims } });
  return { method: 'GET', url: `${app.address}${path}`, headers: [['Approov-Token', token]] };
}

/** Signs `request` with `specs` and sends it, optionally changed after signing. */
function send(
  app: TestApp,
  request: ClientRequest,
  specs: SignatureSpec[] = [{ label: 'install', key: INSTALL }],
  tamper: (sent: ClientRequest) => ClientRequest = (sent) => sent,
) {
  const { input, signature } = signRequest(request, ...specs);
  const sent = tamper({
    ...request,
    headers: [...request.headers, ['Signature-Input', input], ['Signature', signature]],
  });
  const path = sent.url.replace(/^\w+:\/\/[^/]+/, '');
  return app.sendRaw(sent.method.toLowerCase() as 'post', path, sent.headers, sent.body);
}

/** `request` with the header `name` set to `value` (replaced where it is, or added). */
function withHeader(request: ClientRequest, name: string, value: string): ClientRequest {
  const has = request.headers.some(([field]) => field.toLowerCase() === name.toLowerCase());
  return {
    ...request,
    headers: has
      ? request.headers.map(([field, old]) =>
          field.toLowerCase() === name.toLowerCase() ? [field, value] : [field, old],
        )
      : [...request.headers, [name, value]],
  };
}

const withoutHeader = (request: ClientRequest, name: string): ClientRequest => ({
  ...request,
  headers: request.headers.filter(([field]) => field.toLowerCase() !== name.toLowerCase()),
});

describe('message signing: Approov vectors through real apps, clock frozen', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  describe.each(ADAPTERS)('%s', (adapter) => {
    @Controller()
    class VectorController {
      @All('token')
      token(): object {
        return ran('token');
      }

      @HttpCode(200)
      @Post('v1/orders')
      orders(@Body() body: unknown): object {
        ran('orders');
        return { body };
      }
    }

    const startVectorApp = (labels: ('install' | 'account')[]) =>
      TestApp.start(
        adapter,
        {
          imports: [
            ApproovModule.forRoot({
              secret: vectors.aspnet.secret_base64,
              messageSigning: {
                labels,
                accountKey: signingVectors.account_key_base64url,
                accountKeyId: signingVectors.account_key_id,
                clockToleranceSeconds: 0,
              },
            }),
          ],
          controllers: [VectorController],
          providers: [{ provide: APP_GUARD, useExisting: ApproovGuard }],
        },
        {
          rawBody: true,
          trustProxy: true,
          configure: (app) => {
            if (adapter === 'express') (app as NestExpressApplication).set('trust proxy', true);
          },
        },
      );

    /** The vector's request as sent: its headers, the signature headers, and, for https, the
     * proxy's `X-Forwarded-Proto` that the trusted proxy adds. */
    function sendVector(app: TestApp, vector: SigningVector, signature = vector.signature) {
      const { request } = vector;
      const url = /^(\w+):\/\/[^/]+(.*)$/.exec(request.target_uri)!;
      const headers: [string, string][] = [
        ...request.headers,
        ['Signature-Input', vector['signature-input']],
        ['Signature', signature],
      ];
      if (url[1] === 'https') headers.push(['X-Forwarded-Proto', 'https']);
      jest.spyOn(Date, 'now').mockReturnValue(vector.now_seconds * 1000);
      return app.sendRaw(
        request.method.toLowerCase() as 'get',
        url[2],
        headers,
        request.body ?? undefined,
      );
    }

    it.each(APPROOV_SIGNING_VECTORS)('accepts %s, in both signature forms', async (name) => {
      const vector = signingVectors[name];
      const labels = vector['signature-input']
        .match(/\b(install|account)=/g)!
        .map((label) => label.slice(0, -1) as 'install' | 'account');
      const app = await startVectorApp(labels);
      try {
        const route = vector.request.method === 'GET' ? 'token' : 'orders';
        for (const signature of [vector.signature, vector.signature_as_string]) {
          if (signature === undefined) continue;
          expectAccepted(await sendVector(app, vector, signature), route);
        }
        // The same request a second after `expires` (and no tolerance) is refused.
        const expires = Number(/expires=(\d+)/.exec(vector['signature-input'])![1]);
        const late = { ...vector, now_seconds: expires };
        expectRefused(await sendVector(app, late), 'signature_expired');
      } finally {
        await app.close();
      }
    });

    it('refuses a vector whose body changed by one byte', async () => {
      const app = await startVectorApp(['install']);
      try {
        const vector = signingVectors.install_post_sdk_components;
        const changed = {
          ...vector,
          request: { ...vector.request, body: vector.request.body!.replace('world', 'worle') },
        };
        expectRefused(await sendVector(app, changed), 'content_digest_mismatch');
      } finally {
        await app.close();
      }
    });
  });
});

describe.each(ADAPTERS)('message signing (%s)', (adapter) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp(adapter);
  });
  afterAll(() => app.close());

  describe('accepts', () => {
    it('an SDK-signed POST, its signature as a byte sequence or a string', async () => {
      expectAccepted(await send(app, sdkRequest(app)), 'orders');
      const asString = [{ label: 'install', key: INSTALL, asString: true }];
      expectAccepted(await send(app, sdkRequest(app), asString), 'orders');
    });

    it('a GET without a body: no Content-Digest needed', async () => {
      expectAccepted(await send(app, sdkGet(app, '/items/7?view=full')), 'item');
    });

    it('the account signature, and both labels in one dictionary', async () => {
      const account = [{ label: 'account', key: ACCOUNT }];
      expectAccepted(await send(app, sdkRequest(app, '/account'), account), 'account');
      const both = [{ label: 'install', key: INSTALL }, ...account];
      expectAccepted(await send(app, sdkRequest(app, '/both'), both), 'both');
    });

    it('every derived component, and fields with sf and key', async () => {
      const request = sdkGet(app, '/items/7?a=1&name=J%C3%B6rg+x&empty=');
      request.headers.push(
        ['Content-Digest', contentDigest('')],
        ['X-Multi', 'a'],
        ['X-Multi', 'b'],
      );
      const digest = contentDigest('').slice('sha-256='.length);
      const spec: SignatureSpec = {
        label: 'install',
        key: INSTALL,
        components: [
          '"@method"',
          '"@target-uri"',
          '"@authority"',
          '"@scheme"',
          '"@path"',
          '"@query"',
          '"@request-target"',
          '"@query-param";name="name"',
          '"@query-param";name="empty"',
          '"approov-token"',
          '"x-multi"',
          '"content-digest";sf',
          '"content-digest";key="sha-256"',
        ],
        values: {
          '"@query-param";name="name"': 'J%C3%B6rg%20x',
          '"@query-param";name="empty"': '',
          '"content-digest";sf': `sha-256=${digest}`,
          '"content-digest";key="sha-256"': digest,
        },
      };
      expectAccepted(await send(app, request, [spec]), 'item');
    });

    it('Signature-Input and Signature sent over several lines, with other labels', async () => {
      const request = sdkRequest(app);
      const { input, signature } = signRequest(request, { label: 'install', key: INSTALL });
      const other = signRequest(request, { label: 'other', key: ACCOUNT });
      const response = await app.sendRaw(
        'post',
        '/orders',
        [
          ...request.headers,
          ['Signature-Input', other.input],
          ['Signature-Input', input],
          ['Signature', signature],
          ['Signature', other.signature],
        ],
        request.body,
      );
      expectAccepted(response, 'orders');
    });

    it('a signature with keyid, nonce and tag', async () => {
      const params = `${sdkParams('install')};keyid="k";nonce="n1";tag="approov"`;
      const spec = [{ label: 'install', key: INSTALL, params }];
      expectAccepted(await send(app, sdkRequest(app), spec), 'orders');
    });

    it('a Content-Digest with sha-512, or with an unknown algorithm beside a known one', async () => {
      for (const digest of [
        contentDigest(BODY, 'sha-512'),
        `unknown=:AAAA:, ${contentDigest(BODY)}`,
      ]) {
        const request = withHeader(sdkRequest(app), 'Content-Digest', digest);
        expectAccepted(await send(app, request), 'orders');
      }
    });

    it('a fail-over token without ipk where allowMissingIpk is set, and no signature where it is off', async () => {
      expectAccepted(await app.get('/fail-over', { 'Approov-Token': mint() }), 'failOver');
      expectAccepted(await app.get('/unsigned', { 'Approov-Token': mint() }), 'unsigned');
      expectAccepted(await app.get('/open'), 'open');
    });

    it('signatures made by signApproovRequest() from nestjs-approov/testing', async () => {
      const { headers } = signApproovRequest({
        secret: SECRET,
        method: 'POST',
        url: `${app.address}/both`,
        headers: { 'Content-Type': 'application/json' },
        body: BODY,
        labels: ['install', 'account'],
        accountKey: ACCOUNT_KEY.toString('base64url'),
        accountKeyId: ACCOUNT_KEY_ID,
      });
      expectAccepted(await app.sendRaw('post', '/both', Object.entries(headers), BODY), 'both');
    });
  });

  describe('refuses a request changed after signing', () => {
    const cases: [string, (sent: ClientRequest) => ClientRequest, string][] = [
      ['the method', (sent) => ({ ...sent, method: 'PUT' }), 'signature_mismatch'],
      [
        'the path',
        (sent) => ({ ...sent, url: sent.url.replace('/items/7', '/items/8') }),
        'signature_mismatch',
      ],
      ['the query', (sent) => ({ ...sent, url: `${sent.url}&x=1` }), 'signature_mismatch'],
      ['the authority', (sent) => withHeader(sent, 'Host', 'evil.example'), 'signature_mismatch'],
      [
        'Approov-TraceID',
        (sent) => withHeader(sent, 'Approov-TraceID', 'trace-2'),
        'signature_mismatch',
      ],
      [
        'Authorization',
        (sent) => withHeader(sent, 'Authorization', 'Bearer user-2'),
        'signature_mismatch',
      ],
      [
        'Content-Type',
        (sent) => withHeader(sent, 'Content-Type', 'application/json; charset=utf-8'),
        'signature_mismatch',
      ],
      [
        'Authorization sent twice',
        (sent) => ({ ...sent, headers: [...sent.headers, ['Authorization', 'Bearer user-2']] }),
        'signature_mismatch',
      ],
      [
        'Content-Digest',
        (sent) => withHeader(sent, 'Content-Digest', contentDigest('{}')),
        'signature_mismatch',
      ],
      [
        'one byte of the body',
        (sent) => ({ ...sent, body: sent.body!.replace('1', '2') }),
        'content_digest_mismatch',
      ],
      [
        'the token',
        (sent) => withHeader(sent, 'Approov-Token', mint({ claims: { ipk: installKey.ipk } })),
        'signature_mismatch',
      ],
      [
        'a byte of the signature',
        (sent) => withHeader(sent, 'Signature', flipByte(valueOfHeader(sent, 'Signature'))),
        'signature_mismatch',
      ],
      [
        'a covered header removed',
        (sent) => withoutHeader(sent, 'Approov-TraceID'),
        'signature_component_missing',
      ],
    ];

    it.each(cases)('%s', async (_, tamper, reason) => {
      const request = sdkRequest(app, '/items/7?view=full');
      expectRefused(await send(app, request, undefined, tamper), reason as never);
    });

    it('a signature made for another body length', async () => {
      // Content-Length is covered: a longer body no longer matches the signed length.
      const longer = BODY.replace('1', '12');
      const request = sdkRequest(app);
      const response = await send(app, request, undefined, (sent) => ({
        ...withHeader(sent, 'Content-Length', String(longer.length)),
        body: longer,
      }));
      expectRefused(response, 'signature_mismatch');
    });
  });

  describe('refuses signature parameters', () => {
    const created = () => nowSeconds();
    const cases: [string, () => string, string][] = [
      [
        'without alg',
        () => `;created=${created()};expires=${created() + 15}`,
        'signature_params_invalid',
      ],
      [
        'with the account alg on install',
        () => `;alg="hmac-sha256";created=${created()}`,
        'signature_params_invalid',
      ],
      [
        'with alg as a token',
        () => `;alg=ecdsa-p256-sha256;created=${created()}`,
        'signature_params_invalid',
      ],
      [
        'without created',
        () => `;alg="ecdsa-p256-sha256";expires=${created() + 15}`,
        'signature_params_invalid',
      ],
      [
        'with a decimal created',
        () => `;alg="ecdsa-p256-sha256";created=${created()}.5`,
        'signature_params_invalid',
      ],
      [
        'with a string created',
        () => `;alg="ecdsa-p256-sha256";created="${created()}"`,
        'signature_params_invalid',
      ],
      [
        'expiring before created',
        () => `;alg="ecdsa-p256-sha256";created=${created()};expires=${created() - 1}`,
        'signature_params_invalid',
      ],
      [
        'with an unknown parameter',
        () => `${sdkParams('install')};foo="bar"`,
        'signature_params_invalid',
      ],
      [
        'with keyid not a string',
        () => `${sdkParams('install')};keyid=1`,
        'signature_params_invalid',
      ],
      ['expired', () => sdkParams('install', created() - 40), 'signature_expired'],
      [
        'older than maxAgeSeconds without expires',
        () => `;alg="ecdsa-p256-sha256";created=${created() - 76}`,
        'signature_expired',
      ],
      ['from the future', () => sdkParams('install', created() + 20), 'signature_not_yet_valid'],
    ];

    it.each(cases)('%s', async (_, params, reason) => {
      const spec = [{ label: 'install', key: INSTALL, params: params() }];
      expectRefused(await send(app, sdkRequest(app), spec), reason as never);
    });

    it('accepts created and expires within the tolerance', async () => {
      const params = `;alg="ecdsa-p256-sha256";created=${nowSeconds() + 14};expires=${nowSeconds() - 14}`;
      // expires before created is invalid whatever the clock: the tolerance does not excuse it.
      expectRefused(
        await send(app, sdkRequest(app), [{ label: 'install', key: INSTALL, params }]),
        'signature_params_invalid',
      );
      const late = `;alg="ecdsa-p256-sha256";created=${nowSeconds() - 74};expires=${nowSeconds() - 14}`;
      expectAccepted(
        await send(app, sdkRequest(app), [{ label: 'install', key: INSTALL, params: late }]),
        'orders',
      );
      const early = sdkParams('install', nowSeconds() + 14);
      expectAccepted(
        await send(app, sdkRequest(app), [{ label: 'install', key: INSTALL, params: early }]),
        'orders',
      );
    });

    it('a signature whose parameters changed after signing', async () => {
      const created = nowSeconds();
      const params = `;alg="ecdsa-p256-sha256";created=${created};expires=${created + 15};keyid="k"`;
      const changes = [
        `;alg="ecdsa-p256-sha256";created=${created - 1};expires=${created + 15};keyid="k"`,
        `;alg="ecdsa-p256-sha256";created=${created};expires=${created + 16};keyid="k"`,
        `;alg="ecdsa-p256-sha256";created=${created};expires=${created + 15};keyid="j"`,
        `;alg="ecdsa-p256-sha256";created=${created};expires=${created + 15}`,
        `${params};nonce="x"`,
        `;created=${created};alg="ecdsa-p256-sha256";expires=${created + 15};keyid="k"`,
      ];
      for (const changed of changes) {
        const response = await send(
          app,
          sdkRequest(app),
          [{ label: 'install', key: INSTALL, params }],
          (sent) =>
            withHeader(
              sent,
              'Signature-Input',
              valueOfHeader(sent, 'Signature-Input').replace(params, changed),
            ),
        );
        expectRefused(response, 'signature_mismatch');
      }
    });
  });

  describe('refuses labels and signatures', () => {
    it('no Signature or no Signature-Input', async () => {
      for (const name of ['Signature', 'Signature-Input']) {
        expectRefused(
          await send(app, sdkRequest(app), undefined, (sent) => withoutHeader(sent, name)),
          'missing_signature',
        );
      }
    });

    it('a required label missing, in one field or both', async () => {
      const account = [{ label: 'account', key: ACCOUNT }];
      expectRefused(await send(app, sdkRequest(app), account), 'missing_signature');
      const renamed = await send(app, sdkRequest(app), undefined, (sent) =>
        withHeader(
          sent,
          'Signature',
          valueOfHeader(sent, 'Signature').replace('install=', 'instal='),
        ),
      );
      expectRefused(renamed, 'missing_signature');
    });

    it('both labels required and one bad', async () => {
      const badAccount = { label: 'account', key: { account: randomBytes(32) } };
      expectRefused(
        await send(app, sdkRequest(app, '/both'), [{ label: 'install', key: INSTALL }, badAccount]),
        'signature_mismatch',
      );
      const otherInstall = {
        install: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
      };
      expectRefused(
        await send(app, sdkRequest(app, '/both'), [
          { label: 'install', key: otherInstall },
          { label: 'account', key: ACCOUNT },
        ]),
        'signature_mismatch',
      );
    });

    it('a label repeated: the last member counts, as RFC 9651 says', async () => {
      const request = sdkRequest(app);
      const good = signRequest(request, { label: 'install', key: INSTALL });
      const bad = signRequest(request, {
        label: 'install',
        key: { install: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey },
      });
      const sendBoth = (signatures: string) =>
        app.sendRaw(
          'post',
          '/orders',
          [...request.headers, ['Signature-Input', good.input], ['Signature', signatures]],
          request.body,
        );
      expectRefused(await sendBoth(`${good.signature}, ${bad.signature}`), 'signature_mismatch');
      expectAccepted(await sendBoth(`${bad.signature}, ${good.signature}`), 'orders');
    });

    it('a DER signature', async () => {
      expectRefused(
        await send(app, sdkRequest(app), [{ label: 'install', key: INSTALL, der: true }]),
        'malformed_signature',
      );
    });

    it('unparsable fields, and members of the wrong type', async () => {
      const cases: [string, string][] = [
        ['Signature-Input', 'install=("@method"'],
        ['Signature', 'install=:not base64:'],
        ['Signature', 'install=("a")'],
        ['Signature', 'install=12'],
        ['Signature', 'install="!!"'],
        ['Signature-Input', 'install=:AAAA:'],
      ];
      for (const [name, value] of cases) {
        expectRefused(
          await send(app, sdkRequest(app), undefined, (sent) => withHeader(sent, name, value)),
          'malformed_signature',
        );
      }
    });

    it('a repeated, unknown or response-only component, and unknown component parameters', async () => {
      for (const components of [
        ['"@method"', '"@method"', '"@target-uri"', '"approov-token"'],
        ['"@method"', '"@target-uri"', '"approov-token"', '"@foo"'],
        ['"@method"', '"@target-uri"', '"approov-token"', '"@status"'],
        ['"@method"', '"@target-uri"', '"approov-token"', '"@signature-params"'],
        ['"@method"', '"@target-uri"', '"approov-token"', '"authorization";bs'],
        ['"@method"', '"@target-uri"', '"approov-token"', '"Authorization"'],
        ['"@method"', '"@target-uri"', '"approov-token"', '"approov-token";sf'],
      ]) {
        const spec = [
          {
            label: 'install',
            key: INSTALL,
            components,
            values: Object.fromEntries(components.map((c) => [c, 'x'])),
          },
        ];
        expectRefused(await send(app, sdkGet(app, '/items/1'), spec), 'malformed_signature');
      }
    });

    it('a required component not covered, or covered but absent from the request', async () => {
      const spec = [
        {
          label: 'install',
          key: INSTALL,
          components: ['"@method"', '"@target-uri"', '"content-digest"'],
        },
      ];
      expectRefused(await send(app, sdkRequest(app), spec), 'signature_component_missing');
      const queryParam = [
        {
          label: 'install',
          key: INSTALL,
          components: [...sdkComponents(sdkRequest(app)), '"@query-param";name="absent"'],
          values: { '"@query-param";name="absent"': '' },
        },
      ];
      expectRefused(await send(app, sdkRequest(app), queryParam), 'signature_component_missing');
    });

    it('a query parameter that occurs twice', async () => {
      const request = sdkGet(app, '/items/7?a=1&a=2');
      const spec = [
        {
          label: 'install',
          key: INSTALL,
          components: [...sdkComponents(request), '"@query-param";name="a"'],
          values: { '"@query-param";name="a"': '1' },
        },
      ];
      expectRefused(await send(app, request, spec), 'malformed_signature');
    });
  });

  describe('refuses keys', () => {
    it('a token without ipk on an install route', async () => {
      expectRefused(await send(app, sdkRequest(app, '/orders', { ipk: undefined })), 'missing_ipk');
    });

    it('an ipk that is not an EC P-256 public key', async () => {
      const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
      for (const ipk of [
        p384.export({ format: 'der', type: 'spki' }).toString('base64'),
        rsa.export({ format: 'der', type: 'spki' }).toString('base64'),
        'not base64!',
        installKey.ipk.slice(0, 40),
        42,
      ]) {
        expectRefused(await send(app, sdkRequest(app, '/orders', { ipk })), 'invalid_ipk');
      }
    });

    it('a token whose mskid is not the account key id', async () => {
      const account = [{ label: 'account', key: ACCOUNT }];
      expectRefused(
        await send(app, sdkRequest(app, '/account', { mskid: 'other' }), account),
        'mskid_mismatch',
      );
      expectRefused(
        await send(app, sdkRequest(app, '/account', { mskid: undefined }), account),
        'mskid_mismatch',
      );
    });
  });

  describe('refuses bodies', () => {
    it('a body whose signature does not cover Content-Digest', async () => {
      const request = withoutHeader(sdkRequest(app), 'Content-Digest');
      expectRefused(await send(app, request), 'content_digest_missing');
    });

    it('a Content-Digest that is unparsable, of no known algorithm, or not bytes', async () => {
      for (const digest of [
        'sha-256',
        'md5=:AAAA:',
        'sha-256="!!"',
        'sha-256=12',
        'sha-256=(:AAAA:)',
      ]) {
        const request = withHeader(sdkRequest(app), 'Content-Digest', digest);
        expectRefused(await send(app, request), 'content_digest_invalid');
      }
    });

    it('a digest of another body, in either form', async () => {
      const other = contentDigest('{}');
      const asString = `sha-256="${other.slice('sha-256=:'.length, -1)}"`;
      for (const digest of [
        other,
        asString,
        `${contentDigest(BODY)}, ${contentDigest('{}', 'sha-512')}`,
      ]) {
        const request = withHeader(sdkRequest(app), 'Content-Digest', digest);
        expectRefused(await send(app, request), 'content_digest_mismatch');
      }
    });
  });

  describe('order and modes', () => {
    it('checks the token first, then the binding, then the signatures', async () => {
      const expired = withHeader(
        sdkRequest(app),
        'Approov-Token',
        mint({ ttlSeconds: -1, claims: { ipk: installKey.ipk } }),
      );
      expectRefused(
        await send(app, expired, undefined, (sent) => withoutHeader(sent, 'Signature')),
        'expired',
      );
      const bound = sdkGet(app, '/bound');
      expectRefused(
        await send(app, bound, undefined, (sent) => withoutHeader(sent, 'Signature')),
        'missing_pay',
      );
    });

    it('monitor mode lets a failed signature through, with the claims, not verified', async () => {
      const response = await send(
        app,
        sdkGet(app, '/monitored', { did: 'device-9' }),
        undefined,
        (sent) => withoutHeader(sent, 'Signature'),
      );
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ did: 'device-9', verified: false });
      expect(handlerCalls).toEqual(['monitored']);
      expect(logs.lines).toEqual([
        expect.stringContaining('let through by monitor mode: missing_signature'),
      ]);
    });
  });
});

describe.each(ADAPTERS)('message signing settings (%s)', (adapter) => {
  it('without messageSigning, only routes that ask for it require signatures', async () => {
    @Controller()
    class OptInController {
      @Get('plain')
      plain(): object {
        return ran('plain');
      }

      @Get('signed')
      @ApproovMessageSigning({ labels: ['install'] })
      signed(): object {
        return ran('signed');
      }
    }
    await TestApp.run(
      adapter,
      {
        imports: [ApproovModule.forRoot({ secret: SECRET })],
        controllers: [OptInController],
        providers: [{ provide: APP_GUARD, useExisting: ApproovGuard }],
      },
      async (app) => {
        expectAccepted(await app.get('/plain', { 'Approov-Token': mint() }), 'plain');
        expectRefused(await app.get('/signed', { 'Approov-Token': mint() }), 'missing_signature');
        expectAccepted(await send(app, sdkGet(app, '/signed')), 'signed');
      },
    );
  });

  it('refuses bodies it cannot read without rawBody, and says once how to fix it', async () => {
    const app = await startApp(adapter, SIGNING, { rawBody: false });
    try {
      const first = await send(app, sdkRequest(app));
      expect(first.status).toBe(401);
      expect(handlerCalls).toEqual([]);
      expect(logs.levels).toEqual(['error', 'warn']);
      expect(logs.lines[0]).toContain('rawBody: true');
      expect(logs.lines[1]).toContain('rejected: body_unavailable');
      expectRefused(await send(app, sdkRequest(app)), 'body_unavailable');
      expectAccepted(await send(app, sdkGet(app, '/items/1')), 'item');
    } finally {
      await app.close();
    }
  });

  it('believes X-Forwarded-* exactly when the app trusts its proxy', async () => {
    const signAsProxied = (app: TestApp) => {
      const request = sdkGet(app, '/items/1');
      return send(
        app,
        { ...request, url: 'https://api.example.com/items/1' },
        undefined,
        (sent) => ({
          ...sent,
          url: `${app.address}/items/1`,
          headers: [
            ...sent.headers,
            ['X-Forwarded-Proto', 'https'],
            ['X-Forwarded-Host', 'api.example.com'],
          ],
        }),
      );
    };
    const trusting = await startApp(adapter, SIGNING, { trustProxy: true });
    try {
      expectAccepted(await signAsProxied(trusting), 'item');
    } finally {
      await trusting.close();
    }
    const direct = await startApp(adapter, SIGNING);
    try {
      expectRefused(await signAsProxied(direct), 'signature_mismatch');
    } finally {
      await direct.close();
    }
  });

  it('takes the URL from targetUri() when the app gives one', async () => {
    const app = await startApp(adapter, {
      ...SIGNING,
      targetUri: (request: { url: string }) => `https://public.example/api${request.url}`,
    });
    try {
      const request = sdkGet(app, '/items/1');
      const signed = { ...request, url: 'https://public.example/api/items/1' };
      expectAccepted(
        await send(app, signed, undefined, (sent) => ({ ...sent, url: `${app.address}/items/1` })),
        'item',
      );
      expectRefused(await send(app, request), 'signature_mismatch');
    } finally {
      await app.close();
    }
  });

  it('stops at startup when a route requires the account signature without an account key', async () => {
    await expect(startApp(adapter, { labels: ['install'] })).rejects.toThrow(
      new ApproovConfigError(
        '@ApproovMessageSigning() on SignedController.account',
        'requires the "account" signature but messageSigning.accountKey is not set',
        'Set messageSigning.accountKey to the output of `approov secret -messageSigningKey get-base64url`.',
      ),
    );
  });
});

/** The value of the header `name` of `request`. */
function valueOfHeader(request: ClientRequest, name: string): string {
  return request.headers.find(([field]) => field === name)![1];
}

/** A signature field with one byte of its signature changed. */
function flipByte(field: string): string {
  const [, label, b64] = /^(\w+)=:([^:]+):$/.exec(field)!;
  const bytes = Buffer.from(b64, 'base64');
  bytes[10] ^= 1;
  return `${label}=:${bytes.toString('base64')}:`;
}
