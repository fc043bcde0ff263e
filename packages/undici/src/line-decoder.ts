const NEWLINE = 0x0a;

/** Thrown by {@link LineDecoder} when one line grows past its limit. */
export class LineTooLongError extends Error {
  constructor(limit: number) {
    super(`a watch event is larger than ${limit} bytes`);
    this.name = 'LineTooLongError';
  }
}

function isBlank(line: string): boolean {
  // trim() stops at the first non-space character from each end, so this is O(1) for a JSON line.
  return line.trim() === '';
}

/**
 * Splits a byte stream into newline-terminated lines, as the API server writes watch events: one JSON
 * object per line. Splitting happens on bytes, and 0x0A never occurs inside a multi-byte UTF-8 sequence,
 * so a character cut across two chunks is joined before it is decoded. A line spread over many chunks is
 * kept as a list of chunks and copied once, when its newline arrives: the work is linear in the bytes
 * received, however large the object. Blank lines (keep-alives) are dropped.
 */
export class LineDecoder {
  readonly #maxLineBytes: number;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;

  /** `maxLineBytes` bounds the memory one unfinished line may take. Default 64 MiB. */
  constructor(options: { maxLineBytes?: number } = {}) {
    this.#maxLineBytes = options.maxLineBytes ?? 64 * 1024 * 1024;
  }

  /** Bytes held for a line whose newline has not arrived yet. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** Feeds one chunk; returns the non-blank lines it completed, without their newline. */
  push(chunk: Uint8Array): string[] {
    const lines: string[] = [];
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    let start = 0;
    let newline = buffer.indexOf(NEWLINE, start);
    while (newline !== -1) {
      let line: string;
      if (this.#pendingBytes === 0) {
        line = buffer.toString('utf8', start, newline);
      } else {
        this.#pending.push(buffer.subarray(start, newline));
        line = Buffer.concat(this.#pending, this.#pendingBytes + newline - start).toString('utf8');
        this.#pending = [];
        this.#pendingBytes = 0;
      }
      if (!isBlank(line)) lines.push(line);
      start = newline + 1;
      newline = buffer.indexOf(NEWLINE, start);
    }
    if (start < buffer.length) {
      this.#pendingBytes += buffer.length - start;
      if (this.#pendingBytes > this.#maxLineBytes) {
        this.#pending = [];
        this.#pendingBytes = 0;
        throw new LineTooLongError(this.#maxLineBytes);
      }
      // A subarray would pin the whole chunk; a chunk mostly consumed is copied instead.
      const rest = buffer.subarray(start);
      this.#pending.push(start > buffer.length / 2 ? Buffer.from(rest) : rest);
    }
    return lines;
  }

  /** Ends the stream: returns the last line if it had no newline and is not blank. */
  end(): string | undefined {
    if (this.#pendingBytes === 0) return undefined;
    const line = Buffer.concat(this.#pending, this.#pendingBytes).toString('utf8');
    this.#pending = [];
    this.#pendingBytes = 0;
    return isBlank(line) ? undefined : line;
  }
}
