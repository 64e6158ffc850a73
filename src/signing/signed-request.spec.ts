import { describe, expect, it } from '@jest/globals';
import {
  componentValue,
  declaresBody,
  encodeFormComponent,
  normalizeAuthority,
  type SignedRequest,
} from './signed-request.js';

const request = (target: string, rawHeaders: string[] = []): SignedRequest => ({
  method: 'POST',
  scheme: 'https',
  authority: 'api.example.com',
  target,
  rawHeaders,
  body: Buffer.alloc(0),
});
const value = (
  target: string,
  name: string,
  params: [string, unknown][] = [],
  rawHeaders: string[] = [],
) => componentValue(request(target, rawHeaders), name, new Map(params) as never);

describe('normalizeAuthority', () => {
  it('lowers the case and drops the scheme default port only', () => {
    expect(normalizeAuthority('https', 'API.Example.com:443')).toBe('api.example.com');
    expect(normalizeAuthority('http', 'example.com:80')).toBe('example.com');
    expect(normalizeAuthority('http', 'example.com:443')).toBe('example.com:443');
    expect(normalizeAuthority('https', '[::1]:8443')).toBe('[::1]:8443');
  });
});

describe('declaresBody', () => {
  it('reads Content-Length and Transfer-Encoding', () => {
    expect(declaresBody([])).toBe(false);
    expect(declaresBody(['Content-Length', '0'])).toBe(false);
    expect(declaresBody(['Content-Length', '2'])).toBe(true);
    expect(declaresBody(['Transfer-Encoding', 'chunked'])).toBe(true);
  });
});

describe('encodeFormComponent', () => {
  it('keeps letters, digits and *-._ and percent-encodes every other UTF-8 byte, space as %20', () => {
    expect(encodeFormComponent('aZ09*-._')).toBe('aZ09*-._');
    expect(encodeFormComponent("a b~!'()+/?&=")).toBe('a%20b%7E%21%27%28%29%2B%2F%3F%26%3D');
    expect(encodeFormComponent('façade": ')).toBe('fa%C3%A7ade%22%3A%20');
  });
});

describe('componentValue', () => {
  it('derives the request components of RFC 9421 section 2.2', () => {
    const target = '/path/to?param=value&foo=bar';
    expect(value(target, '@method')).toBe('POST');
    expect(value(target, '@target-uri')).toBe(
      'https://api.example.com/path/to?param=value&foo=bar',
    );
    expect(value(target, '@authority')).toBe('api.example.com');
    expect(value(target, '@scheme')).toBe('https');
    expect(value(target, '@request-target')).toBe(target);
    expect(value(target, '@path')).toBe('/path/to');
    expect(value(target, '@query')).toBe('?param=value&foo=bar');
    expect(value('/path', '@query')).toBe('?');
    expect(value('?x', '@path')).toBe('/');
  });

  it('gives @query-param as RFC 9421 section 2.2.8 encodes it', () => {
    const target =
      '/parameters?var=this%20is%20a%20big%0Avalue&bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something&empty=';
    const param = (name: string) => value(target, '@query-param', [['name', name]]);
    expect(param('var')).toBe('this%20is%20a%20big%0Avalue');
    expect(param('bar')).toBe('with%20plus%20whitespace');
    expect(param('fa%C3%A7ade%22%3A%20')).toBe('something');
    expect(param('empty')).toBe('');
    expect(param('absent')).toEqual({ failure: 'signature_component_missing' });
    expect(value('/p?a=1&a=2', '@query-param', [['name', 'a']])).toEqual({
      failure: 'malformed_signature',
    });
    expect(value(target, '@query-param')).toEqual({ failure: 'malformed_signature' });
  });

  it('refuses parameters on other derived components, and unknown ones', () => {
    for (const name of ['@status', '@foo', '@signature-params']) {
      expect(value('/', name)).toEqual({ failure: 'malformed_signature' });
    }
    expect(value('/', '@method', [['req', true]])).toEqual({ failure: 'malformed_signature' });
  });

  it('combines repeated fields, and serialises with sf and key', () => {
    const headers = ['X-A', ' 1 ', 'x-a', '2', 'Priority', 'u=1,   i', 'Example', 'a=1'];
    expect(value('/', 'x-a', [], headers)).toBe('1, 2');
    expect(value('/', 'priority', [['sf', true]], headers)).toBe('u=1, i');
    expect(value('/', 'priority', [['key', 'u']], headers)).toBe('1');
    expect(value('/', 'priority', [['key', 'v']], headers)).toEqual({
      failure: 'signature_component_missing',
    });
    expect(value('/', 'example', [['sf', true]], headers)).toEqual({
      failure: 'malformed_signature',
    });
    expect(value('/', 'x-a', [['bs', true]], headers)).toEqual({ failure: 'malformed_signature' });
    expect(value('/', 'X-A', [], headers)).toEqual({ failure: 'malformed_signature' });
    expect(value('/', 'absent', [], headers)).toEqual({ failure: 'signature_component_missing' });
  });
});
