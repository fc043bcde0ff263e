import { describe, expect, it } from 'vitest';
import { noProxyMatches, proxyFor } from './proxy.js';

const url = (text: string) => new URL(text);

describe('NO_PROXY', () => {
  it.each([
    ['https://api.example.com', 'example.com', true],
    ['https://api.example.com', '.example.com', true],
    ['https://api.example.com', '*.example.com', true],
    ['https://example.com', 'example.com', true],
    ['https://badexample.com', 'example.com', false],
    ['https://api.example.com:6443', 'example.com:6443', true],
    ['https://api.example.com:6443', 'example.com:443', false],
    ['https://api.example.com', 'example.com:443', true],
    ['https://10.0.0.1:6443', '10.0.0.1', true],
    ['https://10.0.0.12:6443', '10.0.0.1', false],
    ['https://[fd00::1]:6443', 'fd00::1', true],
    ['https://[fd00::1]:6443', '[fd00::1]:6443', true],
    ['https://anything.test', '*', true],
    ['https://api.example.com', ' other.test , example.com ', true],
    ['https://api.example.com', '', false],
  ])('%s with NO_PROXY=%j: exempt %s', (server, noProxy, exempt) => {
    expect(noProxyMatches(url(server), noProxy)).toBe(exempt);
  });
});

describe('proxyFor', () => {
  const env = {
    HTTPS_PROXY: 'http://secure-proxy:3128',
    http_proxy: 'http://plain-proxy:3128',
    NO_PROXY: '.internal',
  };

  it('prefers the kubeconfig proxy-url, then HTTPS_PROXY for https and HTTP_PROXY for http, lower case first', () => {
    expect(proxyFor(url('https://api.example.com'), 'socks5://kube-proxy:1080', env)).toBe(
      'socks5://kube-proxy:1080',
    );
    expect(proxyFor(url('https://api.example.com'), undefined, env)).toBe('http://secure-proxy:3128');
    expect(proxyFor(url('http://api.example.com'), undefined, env)).toBe('http://plain-proxy:3128');
    expect(proxyFor(url('https://api.example.com'), undefined, { HTTP_PROXY: 'http://only-http:1' })).toBe(
      'http://only-http:1',
    );
  });

  it('never proxies NO_PROXY hosts or loopback from the environment', () => {
    expect(proxyFor(url('https://kube.internal'), undefined, env)).toBeUndefined();
    for (const server of ['https://localhost:6443', 'https://127.0.0.1:6443', 'https://[::1]:6443']) {
      expect(proxyFor(url(server), undefined, env)).toBeUndefined();
    }
    // An explicit proxy-url is the user's choice, loopback or not.
    expect(proxyFor(url('https://127.0.0.1:6443'), 'http://p:1', env)).toBe('http://p:1');
  });
});
