import { describe, expect, it } from 'vitest';
import { LineDecoder, LineTooLongError } from './line-decoder.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');

function feed(decoder: LineDecoder, chunks: Uint8Array[]): string[] {
  return chunks.flatMap((chunk) => decoder.push(chunk));
}

describe('LineDecoder', () => {
  it('returns each complete line of a chunk, without the newline', () => {
    const decoder = new LineDecoder();
    expect(decoder.push(bytes('{"a":1}\n{"b":2}\n'))).toEqual(['{"a":1}', '{"b":2}']);
    expect(decoder.pendingBytes).toBe(0);
  });

  it('joins an event split across chunks at every possible point', () => {
    const text = '{"type":"ADDED","object":{"metadata":{"name":"web"}}}\n';
    for (let cut = 1; cut < text.length; cut++) {
      const decoder = new LineDecoder();
      expect(feed(decoder, [bytes(text.slice(0, cut)), bytes(text.slice(cut))])).toEqual([text.trimEnd()]);
    }
  });

  it('joins a multi-byte UTF-8 character cut across chunks, byte by byte', () => {
    const text = '{"message":"Pulling image \\"ünïcødé/😀\\" ✓"}\n';
    const all = bytes(text);
    const decoder = new LineDecoder();
    const lines = feed(
      decoder,
      [...all].map((byte) => Uint8Array.of(byte)),
    );
    expect(lines).toEqual([text.trimEnd()]);
    expect(JSON.parse(lines[0] as string).message).toBe('Pulling image "ünïcødé/😀" ✓');
  });

  it('drops blank keep-alive lines, alone or between events, with \\r\\n too', () => {
    const decoder = new LineDecoder();
    expect(
      feed(decoder, [bytes('\n'), bytes('\n\n{"a":1}\n'), bytes('  \r\n{"b":2}\r\n'), bytes('\n')]),
    ).toEqual(['{"a":1}', '{"b":2}\r']);
    expect(decoder.end()).toBeUndefined();
  });

  it('returns a final line that has no newline at the end of the stream', () => {
    const decoder = new LineDecoder();
    expect(feed(decoder, [bytes('{"a":1}\n{"b"'), bytes(':2}')])).toEqual(['{"a":1}']);
    expect(decoder.end()).toBe('{"b":2}');
    expect(decoder.end()).toBeUndefined();
  });

  it('decodes a very large object spread over thousands of small chunks', () => {
    const big = JSON.stringify({ data: 'x'.repeat(8 * 1024 * 1024), name: 'ü' });
    const all = bytes(`${big}\n{"after":true}\n`);
    const decoder = new LineDecoder();
    const lines: string[] = [];
    for (let offset = 0; offset < all.length; offset += 1_000) {
      lines.push(...decoder.push(all.subarray(offset, offset + 1_000)));
    }
    expect(lines).toHaveLength(2);
    expect(lines[0]?.length).toBe(big.length);
    expect(JSON.parse(lines[0] as string).name).toBe('ü');
    expect(lines[1]).toBe('{"after":true}');
  });

  it('keeps the work linear: a 16 MiB line in 4 KiB chunks copies each byte about once', () => {
    // A quadratic decoder (re-concatenating or re-scanning the pending text per chunk) would move about
    // size²/chunk = 64 GiB here and take minutes; a linear one takes milliseconds.
    const size = 16 * 1024 * 1024;
    const chunk = Buffer.alloc(4 * 1024, 'a');
    const decoder = new LineDecoder();
    const started = performance.now();
    let early = 0;
    for (let sent = 0; sent < size; sent += chunk.length) early += decoder.push(chunk).length;
    expect(early).toBe(0);
    const lines = decoder.push(bytes('\n'));
    expect(lines[0]?.length).toBe(size);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('refuses a line larger than its limit, and frees what it held', () => {
    const decoder = new LineDecoder({ maxLineBytes: 10 });
    expect(decoder.push(bytes('12345'))).toEqual([]);
    expect(() => decoder.push(bytes('678901'))).toThrow(LineTooLongError);
    expect(decoder.pendingBytes).toBe(0);
  });

  it('accepts Uint8Array chunks that view part of a larger buffer', () => {
    const backing = bytes('xx{"a":1}\nyy');
    const decoder = new LineDecoder();
    expect(decoder.push(new Uint8Array(backing.buffer, backing.byteOffset + 2, 8))).toEqual(['{"a":1}']);
  });
});
