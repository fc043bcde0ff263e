import { renameSync, symlinkSync } from 'node:fs';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { TokenFileCredentials } from './credentials.js';
import { CredentialError } from './errors.js';
import { temporaryDirectory } from './test-support.js';

let directory: ReturnType<typeof temporaryDirectory>;
beforeEach(() => {
  directory = temporaryDirectory();
});
afterEach(() => directory.remove());

const header = async (credentials: TokenFileCredentials) => (await credentials.get()).authorization?.reveal();

it('reads a token file once, and again only when it changes', async () => {
  const path = directory.write('token', 'first\n');
  const credentials = new TokenFileCredentials(path);
  expect(await header(credentials)).toBe('Bearer first');
  expect(await header(credentials)).toBe('Bearer first');
  expect(credentials.reads).toBe(1);
  directory.write('token', 'second-token');
  expect(await header(credentials)).toBe('Bearer second-token');
  expect(credentials.reads).toBe(2);
  await credentials.refresh();
  expect(credentials.reads).toBe(3);
});

it('follows a rotation by symlink swap, as the kubelet rotates projected tokens', async () => {
  directory.write('..2026_01/token', 'old');
  directory.write('..2026_02/token', 'new');
  symlinkSync(`${directory.path}/..2026_01`, `${directory.path}/..data`);
  symlinkSync('..data/token', `${directory.path}/token`);
  const credentials = new TokenFileCredentials(`${directory.path}/token`);
  expect(await header(credentials)).toBe('Bearer old');
  symlinkSync(`${directory.path}/..2026_02`, `${directory.path}/..data_tmp`);
  renameSync(`${directory.path}/..data_tmp`, `${directory.path}/..data`);
  expect(await header(credentials)).toBe('Bearer new');
});

it('an empty or vanished token file is a CredentialError naming the file, not the token', async () => {
  const path = directory.write('token', 'secret-value');
  const credentials = new TokenFileCredentials(path);
  await credentials.get();
  directory.write('token', '  \n');
  await expect(credentials.get()).rejects.toThrow(`token file ${path} is empty`);
  directory.remove();
  const error = await credentials.get().catch((reason: unknown) => reason);
  expect(CredentialError.isInstance(error)).toBe(true);
  expect(String(error)).toContain('ENOENT');
  expect(String(error)).not.toContain('secret-value');
});
