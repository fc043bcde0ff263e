import { KubernetesError } from '@podstorage/core';
import { describe, expect, it } from 'vitest';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';

function badRequest(run: () => unknown): KubernetesError {
  try {
    run();
  } catch (error) {
    expect(KubernetesError.isInstance(error)).toBe(true);
    expect((error as KubernetesError).code).toBe(400);
    expect((error as KubernetesError).reason).toBe('BadRequest');
    return error as KubernetesError;
  }
  throw new Error('expected a 400 BadRequest');
}

describe('field selectors', () => {
  it('parses =, == and != terms', () => {
    expect(parseFieldSelector('status.phase!=Failed,metadata.name==web,spec.nodeName=n1')).toEqual([
      { field: 'metadata.name', operator: '=', value: 'web' },
      { field: 'spec.nodeName', operator: '=', value: 'n1' },
      { field: 'status.phase', operator: '!=', value: 'Failed' },
    ]);
  });

  it('unescapes \\\\, \\, and \\= in values and does not split on escaped commas', () => {
    expect(parseFieldSelector('reason=a\\,b\\=c\\\\d')).toEqual([
      { field: 'reason', operator: '=', value: 'a,b=c\\d' },
    ]);
  });

  it('takes a FieldSelector object as equalities', () => {
    expect(parseFieldSelector({ 'metadata.name': 'a,b' })).toEqual([
      { field: 'metadata.name', operator: '=', value: 'a,b' },
    ]);
  });

  it('treats empty selectors and empty terms as matching everything', () => {
    expect(parseFieldSelector('')).toEqual([]);
    expect(parseFieldSelector('a=b,')).toEqual([{ field: 'a', operator: '=', value: 'b' }]);
  });

  it('rejects terms without an operator, bad escapes and unescaped specials', () => {
    expect(badRequest(() => parseFieldSelector('metadata.name')).serverMessage).toContain(
      "can't understand 'metadata.name'",
    );
    expect(badRequest(() => parseFieldSelector('reason=a\\x')).serverMessage).toContain(
      'invalid escape sequence: \\x',
    );
    expect(badRequest(() => parseFieldSelector('reason=a=b')).serverMessage).toContain(
      'unescaped character in value: =',
    );
    expect(badRequest(() => parseFieldSelector('reason=a\\')).serverMessage).toContain(
      'invalid escape sequence',
    );
  });

  it('matches equality and inequality, absent fields being empty', () => {
    const fields = { 'status.phase': 'Running', 'spec.nodeName': '' };
    expect(matchesFields(parseFieldSelector('status.phase=Running'), fields)).toBe(true);
    expect(matchesFields(parseFieldSelector('status.phase!=Running'), fields)).toBe(false);
    expect(matchesFields(parseFieldSelector('spec.nodeName='), fields)).toBe(true);
    expect(matchesFields(parseFieldSelector('spec.nodeName!=,status.phase=Running'), fields)).toBe(false);
  });
});

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front', 'example.com/team': 'core', version: '3' };

  it('matches equality requirements', () => {
    expect(matchesLabels(parseLabelSelector('app=web'), labels)).toBe(true);
    expect(matchesLabels(parseLabelSelector('app==web,tier=front'), labels)).toBe(true);
    expect(matchesLabels(parseLabelSelector('app!=web'), labels)).toBe(false);
    expect(matchesLabels(parseLabelSelector('missing!=x'), labels)).toBe(true);
    expect(matchesLabels(parseLabelSelector('app=api'), labels)).toBe(false);
  });

  it('matches set-based and existence requirements', () => {
    expect(matchesLabels(parseLabelSelector('tier in (front, back)'), labels)).toBe(true);
    expect(matchesLabels(parseLabelSelector('tier notin (front)'), labels)).toBe(false);
    expect(matchesLabels(parseLabelSelector('missing notin (front)'), labels)).toBe(true);
    expect(matchesLabels(parseLabelSelector('missing in (front)'), labels)).toBe(false);
    expect(matchesLabels(parseLabelSelector('example.com/team'), labels)).toBe(true);
    expect(matchesLabels(parseLabelSelector('!canary'), labels)).toBe(true);
    expect(matchesLabels(parseLabelSelector('!app'), labels)).toBe(false);
    expect(matchesLabels(parseLabelSelector('app,!canary,tier in (front),version>2,version<4'), labels)).toBe(
      true,
    );
    expect(matchesLabels(parseLabelSelector('version>3'), labels)).toBe(false);
    expect(matchesLabels(parseLabelSelector('app'), undefined)).toBe(false);
  });

  it('parses into requirements with sorted, unique values', () => {
    expect(parseLabelSelector('x in (b,a,b),!y')).toEqual([
      { key: 'x', operator: 'in', values: ['a', 'b'] },
      { key: 'y', operator: '!', values: [] },
    ]);
  });

  it('accepts an empty value after = and in a set', () => {
    expect(matchesLabels(parseLabelSelector('a='), { a: '' })).toBe(true);
    expect(matchesLabels(parseLabelSelector('a in (,x)'), { a: '' })).toBe(true);
  });

  it('rejects bad syntax with a message saying where', () => {
    expect(badRequest(() => parseLabelSelector('app in front')).serverMessage).toContain(
      "expected: '(' after 'in'",
    );
    expect(badRequest(() => parseLabelSelector('app in ()')).serverMessage).toContain("can't be empty");
    expect(badRequest(() => parseLabelSelector('app=web,')).serverMessage).toContain('end of string');
    expect(badRequest(() => parseLabelSelector('!app=web')).serverMessage).toContain("after '!key'");
    expect(badRequest(() => parseLabelSelector('app in (a b)')).serverMessage).toContain("',' or ')'");
    expect(badRequest(() => parseLabelSelector('version>x')).serverMessage).toContain('integer');
    expect(badRequest(() => parseLabelSelector('-bad=x')).serverMessage).toContain(
      'invalid label key "-bad"',
    );
    expect(badRequest(() => parseLabelSelector('a=-x-')).serverMessage).toContain(
      'invalid label value "-x-"',
    );
  });
});
