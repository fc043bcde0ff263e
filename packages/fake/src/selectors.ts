import type { FieldSelector } from '@podstorage/core';
import { badRequest } from './status.js';

/** One term of a field selector: `field=value`, `field==value` or `field!=value`. */
export interface FieldRequirement {
  readonly field: string;
  readonly operator: '=' | '!=';
  readonly value: string;
}

/**
 * Parses a field selector the way the API server does (`fields.ParseSelector`): terms split on
 * unescaped commas, operators `=`, `==` and `!=`, values unescaping `\\`, `\,` and `\=`. An unescaped
 * `,` or `=` in a value, or another escape, is an error. A `FieldSelector` object is taken as equalities.
 * Throws a 400 BadRequest `KubernetesError` naming the problem.
 */
export function parseFieldSelector(selector: string | FieldSelector | undefined): FieldRequirement[] {
  if (selector === undefined) return [];
  if (typeof selector !== 'string') {
    return Object.keys(selector)
      .sort()
      .map((field) => ({ field, operator: '=' as const, value: selector[field] ?? '' }));
  }
  const requirements: FieldRequirement[] = [];
  for (const term of splitUnescaped(selector).sort()) {
    if (term === '') continue;
    const split = splitTerm(term);
    if (split === undefined) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    requirements.push({
      field: split.field,
      operator: split.operator,
      value: unescapeFieldValue(split.value),
    });
  }
  return requirements;
}

function splitUnescaped(selector: string): string[] {
  if (selector === '') return [];
  const terms: string[] = [];
  let start = 0;
  let escaped = false;
  for (let index = 0; index < selector.length; index++) {
    const character = selector[index];
    if (escaped) escaped = false;
    else if (character === '\\') escaped = true;
    else if (character === ',') {
      terms.push(selector.slice(start, index));
      start = index + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms;
}

function splitTerm(term: string): { field: string; operator: '=' | '!='; value: string } | undefined {
  for (let index = 0; index < term.length; index++) {
    const rest = term.slice(index);
    if (rest.startsWith('!='))
      return { field: term.slice(0, index), operator: '!=', value: term.slice(index + 2) };
    if (rest.startsWith('=='))
      return { field: term.slice(0, index), operator: '=', value: term.slice(index + 2) };
    if (rest.startsWith('='))
      return { field: term.slice(0, index), operator: '=', value: term.slice(index + 1) };
  }
  return undefined;
}

function unescapeFieldValue(value: string): string {
  let result = '';
  let escaped = false;
  for (const character of value) {
    if (escaped) {
      if (character !== '\\' && character !== ',' && character !== '=') {
        throw badRequest(`invalid field selector: invalid escape sequence: \\${character}`);
      }
      result += character;
      escaped = false;
    } else if (character === '\\') {
      escaped = true;
    } else if (character === ',' || character === '=') {
      throw badRequest(`invalid field selector: unescaped character in value: ${character}`);
    } else {
      result += character;
    }
  }
  if (escaped) throw badRequest('invalid field selector: invalid escape sequence: \\');
  return result;
}

/** True when every requirement holds for the object's selectable fields. */
export function matchesFields(
  requirements: readonly FieldRequirement[],
  fields: Readonly<Record<string, string>>,
): boolean {
  return requirements.every((requirement) => {
    const actual = fields[requirement.field] ?? '';
    return requirement.operator === '=' ? actual === requirement.value : actual !== requirement.value;
  });
}

/** The operators of a label selector requirement. */
export type LabelOperator = 'exists' | '!' | '=' | '!=' | 'in' | 'notin' | '>' | '<';

/** One requirement of a label selector, such as `tier in (web,api)` or `!canary`. */
export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  readonly values: readonly string[];
}

type Token =
  | { kind: 'identifier'; text: string; position: number }
  | { kind: 'operator'; text: '=' | '==' | '!=' | '!' | '>' | '<' | '(' | ')' | ','; position: number }
  | { kind: 'end'; position: number };

const SPECIAL = new Set(['=', '!', '(', ')', ',', '>', '<']);

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < input.length) {
    const character = input[index] as string;
    if (/\s/.test(character)) {
      index++;
      continue;
    }
    if (SPECIAL.has(character)) {
      const two = input.slice(index, index + 2);
      if (two === '==' || two === '!=') {
        tokens.push({ kind: 'operator', text: two, position: index });
        index += 2;
      } else {
        tokens.push({
          kind: 'operator',
          text: character as '=' | '!' | '(' | ')' | ',' | '>' | '<',
          position: index,
        });
        index++;
      }
      continue;
    }
    const start = index;
    while (index < input.length && !SPECIAL.has(input[index] as string) && !/\s/.test(input[index] as string))
      index++;
    tokens.push({ kind: 'identifier', text: input.slice(start, index), position: start });
  }
  tokens.push({ kind: 'end', position: input.length });
  return tokens;
}

const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkKey(selector: string, key: string): void {
  const slash = key.indexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  const problems: string[] = [];
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    problems.push(`prefix part "${prefix}" must be a lowercase RFC 1123 subdomain`);
  }
  if (name.length > 63 || !LABEL_NAME.test(name)) {
    problems.push(
      "name part must consist of at most 63 alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
    );
  }
  if (problems.length > 0) {
    throw badRequest(
      `unable to parse requirement: invalid label key "${key}" in selector "${selector}": ${problems.join('; ')}`,
    );
  }
}

function checkValue(selector: string, value: string): void {
  if (value !== '' && (value.length > 63 || !LABEL_NAME.test(value))) {
    throw badRequest(
      `unable to parse requirement: invalid label value "${value}" in selector "${selector}": must be 63 characters or less and consist of alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character`,
    );
  }
}

/**
 * Parses a label selector as `labels.Parse` does: equality (`a=b`, `a==b`, `a!=b`), set-based
 * (`a in (x,y)`, `a notin (x)`), existence (`a`, `!a`) and the numeric `a>1`, `a<2`, joined by commas.
 * Throws a 400 BadRequest `KubernetesError` saying where the syntax went wrong.
 */
export function parseLabelSelector(selector: string | undefined): LabelRequirement[] {
  if (selector === undefined || selector.trim() === '') return [];
  const tokens = tokenize(selector);
  let index = 0;
  const peek = (): Token => tokens[index] as Token;
  const next = (): Token => tokens[index++] as Token;
  const describe = (token: Token): string => (token.kind === 'end' ? 'end of string' : `'${token.text}'`);
  const fail = (token: Token, expected: string): never => {
    throw badRequest(
      `unable to parse requirement: found ${describe(token)} at position ${token.position} of label selector "${selector}", expected: ${expected}`,
    );
  };
  const isEndOfRequirement = (token: Token) =>
    token.kind === 'end' || (token.kind === 'operator' && token.text === ',');

  const requirements: LabelRequirement[] = [];
  for (;;) {
    let token = next();
    let negated = false;
    if (token.kind === 'operator' && token.text === '!') {
      negated = true;
      token = next();
    }
    if (token.kind !== 'identifier') fail(token, 'a label key');
    const key = (token as { text: string }).text;
    checkKey(selector, key);
    if (negated) {
      if (!isEndOfRequirement(peek())) fail(peek(), "',' or end of string after '!key'");
      requirements.push({ key, operator: '!', values: [] });
    } else if (isEndOfRequirement(peek())) {
      requirements.push({ key, operator: 'exists', values: [] });
    } else {
      const operatorToken = next();
      if (
        operatorToken.kind === 'identifier' &&
        (operatorToken.text === 'in' || operatorToken.text === 'notin')
      ) {
        const open = next();
        if (open.kind !== 'operator' || open.text !== '(') fail(open, `'(' after '${operatorToken.text}'`);
        const values: string[] = [];
        if (peek().kind === 'operator' && (peek() as { text: string }).text === ')') {
          throw badRequest(
            `unable to parse requirement: values for '${operatorToken.text}' in label selector "${selector}" can't be empty`,
          );
        }
        for (;;) {
          const value = peek();
          let text = '';
          if (value.kind === 'identifier') {
            text = value.text;
            next();
          }
          checkValue(selector, text);
          values.push(text);
          const separator = next();
          if (separator.kind === 'operator' && separator.text === ')') break;
          if (separator.kind !== 'operator' || separator.text !== ',') fail(separator, "',' or ')'");
        }
        requirements.push({ key, operator: operatorToken.text, values: [...new Set(values)].sort() });
      } else if (
        operatorToken.kind === 'operator' &&
        ['=', '==', '!=', '>', '<'].includes(operatorToken.text)
      ) {
        const value = peek();
        let text = '';
        if (value.kind === 'identifier') {
          text = value.text;
          next();
        } else if (!isEndOfRequirement(value)) fail(value, 'a label value');
        checkValue(selector, text);
        const operator = operatorToken.text === '==' ? '=' : (operatorToken.text as '=' | '!=' | '>' | '<');
        if ((operator === '>' || operator === '<') && !/^-?\d+$/.test(text)) {
          throw badRequest(
            `unable to parse requirement: for '${operator}' in label selector "${selector}", the value must be an integer, got "${text}"`,
          );
        }
        requirements.push({ key, operator, values: [text] });
      } else {
        fail(operatorToken, "'=', '==', '!=', 'in', 'notin', '>', '<', ',' or end of string");
      }
    }
    const after = next();
    if (after.kind === 'end') break;
    if (after.kind !== 'operator' || after.text !== ',') fail(after, "',' or end of string");
  }
  return requirements;
}

/** True when the labels satisfy every requirement (an empty selector matches everything). */
export function matchesLabels(
  requirements: readonly LabelRequirement[],
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const actual = labels ?? {};
  return requirements.every((requirement) => {
    const has = Object.hasOwn(actual, requirement.key);
    const value = actual[requirement.key];
    switch (requirement.operator) {
      case 'exists':
        return has;
      case '!':
        return !has;
      case '=':
      case 'in':
        return has && requirement.values.includes(value as string);
      case '!=':
      case 'notin':
        return !has || !requirement.values.includes(value as string);
      case '>':
      case '<': {
        if (!has || !/^-?\d+$/.test(value as string)) return false;
        const left = Number(value);
        const right = Number(requirement.values[0]);
        return requirement.operator === '>' ? left > right : left < right;
      }
      default:
        return false;
    }
  });
}
