// urlSource/urlFolder against a real HTTP server on 127.0.0.1: ranged reads
// fetch only their bytes (the server logs each Range header), servers
// without range support are read whole, HTTP and network failures and
// aborts come back as typed errors.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoraFuseError, SafetensorsFile, encodeSafetensors, Tensor, concatBytes, readAll, urlFolder, urlSource } from '@lorafuse/core';
import { asyncCodeOf } from './error-code.js';

const payload = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7 + 3) & 255);
const checkpoint = concatBytes(encodeSafetensors([['w', Tensor.f32([2, 3], Float32Array.from([1, -2, 3.5, 4, 0.25, -6]))]]));
const seen: { path: string; method: string; range?: string }[] = [];
let origin = '';

const server = createServer((request: IncomingMessage, response) => {
  const url = new URL(request.url ?? '/', 'http://x');
  seen.push({ path: url.pathname, method: request.method ?? '', range: request.headers.range });
  const ranged = !url.pathname.startsWith('/plain/');
  const name = decodeURIComponent(url.pathname).replace(/^\/(plain|ranged)\//, '');
  if (name === 'teapot') return void response.writeHead(418, "I'm a teapot").end();
  if (name === 'liar' && request.method !== 'HEAD') return void response.writeHead(200, { 'Content-Length': payload.length }).end(payload);
  const body = name === 'data.bin' || name === 'liar' ? payload : name === 'sub dir/model.safetensors' ? checkpoint : undefined;
  if (!body) return void response.writeHead(404).end();
  const headers: Record<string, string | number> = { 'Content-Length': body.length };
  if (ranged) headers['Accept-Ranges'] = 'bytes';
  const match = ranged ? /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? '') : null;
  if (match) {
    const part = body.subarray(Number(match[1]), Number(match[2]) + 1);
    response.writeHead(206, { ...headers, 'Content-Length': part.length, 'Content-Range': `bytes ${match[1]}-${match[2]}/${body.length}` });
    return void response.end(request.method === 'HEAD' ? undefined : part);
  }
  response.writeHead(200, headers).end(request.method === 'HEAD' ? undefined : body);
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('urlSource', () => {
  it('reads byte ranges with Range requests when the server supports them', async () => {
    seen.length = 0;
    const source = await urlSource(`${origin}/ranged/data.bin`);
    expect(source.size).toBe(1000);
    expect([...(await source.read(10, 5))]).toEqual([...payload.subarray(10, 15)]);
    expect([...(await source.read(995, 5))]).toEqual([...payload.subarray(995)]);
    expect(seen.map((s) => `${s.method} ${s.range ?? ''}`)).toEqual(['HEAD ', 'GET bytes=10-14', 'GET bytes=995-999']);
    expect(await asyncCodeOf(() => source.read(996, 5))).toBe('READ_OUT_OF_BOUNDS');
  });

  it('downloads the whole file once when the server has no range support', async () => {
    seen.length = 0;
    const source = await urlSource(`${origin}/plain/data.bin`);
    expect([...(await readAll(source))]).toEqual([...payload]);
    expect([...(await source.read(500, 3))]).toEqual([...payload.subarray(500, 503)]);
    expect(seen.map((s) => s.method)).toEqual(['HEAD', 'GET']);
  });

  it('rejects a server that advertises ranges and ignores them', async () => {
    const source = await urlSource(`${origin}/ranged/liar`);
    expect(await asyncCodeOf(() => source.read(0, 4))).toBe('HTTP_ERROR');
  });

  it('types HTTP, network and abort failures', async () => {
    expect(await asyncCodeOf(() => urlSource(`${origin}/ranged/missing`))).toBe('FILE_NOT_FOUND');
    const teapot = await urlSource(`${origin}/ranged/teapot`).catch((e: unknown) => e as LoraFuseError);
    expect(teapot).toBeInstanceOf(LoraFuseError);
    expect([(teapot as LoraFuseError).code, (teapot as LoraFuseError).details.status]).toEqual(['HTTP_ERROR', 418]);
    expect(await asyncCodeOf(() => urlSource('http://127.0.0.1:1/nothing-listens-here'))).toBe('NETWORK_ERROR');
    expect(await asyncCodeOf(() => urlSource(`${origin}/ranged/data.bin`, { signal: AbortSignal.abort() }))).toBe('ABORTED');
    const source = await urlSource(`${origin}/ranged/data.bin`);
    expect(await asyncCodeOf(() => source.read(0, 10, AbortSignal.abort()))).toBe('ABORTED');
  });
});

describe('urlFolder', () => {
  it('opens safetensors by relative path, percent-encoding names, and answers exists', async () => {
    const folder = urlFolder(`${origin}/ranged`);
    const file = await SafetensorsFile.open(await folder.open('sub dir/model.safetensors'));
    expect([...(await file.read('w')).toFloat32()]).toEqual([1, -2, 3.5, 4, 0.25, -6]);
    expect(await folder.exists('data.bin')).toBe(true);
    expect(await folder.exists('missing.json')).toBe(false);
    expect(await asyncCodeOf(() => folder.exists('teapot'))).toBe('HTTP_ERROR');
    expect(await asyncCodeOf(() => folder.open('missing.json'))).toBe('FILE_NOT_FOUND');
    expect(await asyncCodeOf(() => folder.open('../escape'))).toBe('PATH_ESCAPE');
  });
});
