import { describe, expect, it } from 'vitest';
import { parseOriginForm } from '../../main/core/gateway/request-target.js';

describe('the target of a request in an intercepted tunnel', () => {
  it.each([
    ['/v1/invoices', '/v1/invoices', '/v1/invoices', undefined],
    ['/v1/./invoices', '/v1/invoices', '/v1/invoices', undefined],
    ['/v1/x/../invoices', '/v1/invoices', '/v1/invoices', undefined],
    ['/v1/%2e%2e/admin', '/admin', '/admin', undefined],
    ['/v1/%2E./admin', '/admin', '/admin', undefined],
    ['/v1/.%2e/admin?a=1', '/admin', '/admin', 'a=1'],
    ['/v1//../admin', '/admin', '/admin', undefined],
    ['/v1//invoices', '/v1/invoices', '/v1/invoices', undefined],
    ['/v1/', '/v1/', '/v1/', undefined],
    ['/v1/.', '/v1/', '/v1/', undefined],
    ['/a/..', '/', '/', undefined],
    ['/../../etc', '/etc', '/etc', undefined],
    ['/%76%31/x', '/%76%31/x', '/v1/x', undefined],
    ['/projects/group%2Fname/issues', '/projects/group%2Fname/issues', '/projects/group/name/issues', undefined],
    ['/?q=../x', '/', '/', 'q=../x'],
  ])('%s is sent as %s (checked as %s)', (url, path, decodedPath, query) => {
    expect(parseOriginForm(url)).toEqual({ ok: true, path, decodedPath, query });
  });

  it.each([
    ['http://api.vendor.test/v1', /origin form/],
    ['api.vendor.test:443', /origin form/],
    ['*', /asterisk/],
    ['/v1/..%2fadmin', /encoded slash/],
    ['/v1/..%5cadmin', /backslash/],
    ['/v1\\..\\admin', /backslash/],
    ['/v1/%252e%252e/admin', /doubly encoded/],
    ['/v1/%00/x', /control character/],
    ['/v1/%zz', /malformed percent-escape/],
    ['/v1/a%2f%2fb', /encoded slash/],
    ['/v1#frag', /fragment/],
  ])('%s is refused', (url, reason) => {
    const target = parseOriginForm(url);
    expect(target.ok).toBe(false);
    expect(!target.ok && target.reason).toMatch(reason);
  });
});
