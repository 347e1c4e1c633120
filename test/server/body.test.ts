// How the webhook reads a review body (src/server/body.ts): the API server's plain UTF-8 body of
// a declared length directly, anything else (compressed, chunked) through body-parser; both give
// the same answer, and the bounds hold on either path.
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { AdmissionReview } from '../../src/admission/types.ts';
import { fixture, testApp, type LogLine } from './support.ts';

let server: Server;
let port: number;
let lines: LogLine[];

before(async () => {
  const app = testApp();
  lines = app.lines;
  server = createServer(app.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

/** Posts `body` to /mutate with these headers; chunked (no content-length) unless `length` is set. */
function post(body: Buffer, headers: Record<string, string>): Promise<{ status: number; review: AdmissionReview }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/mutate', method: 'POST', agent: false, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, review: JSON.parse(text) as AdmissionReview }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const review = Buffer.from(JSON.stringify(fixture('shared-gpu-pod')));
const json = { 'content-type': 'application/json' };
const declared = (b: Buffer): Record<string, string> => ({ ...json, 'content-length': String(b.length) });

describe('POST /mutate: how the body is read', () => {
  it('when the same review comes plain, chunked, gzip-compressed, with a charset or a byte order mark, then every answer is the same patch', async () => {
    const plain = await post(review, declared(review));
    assert.equal(plain.status, 200);
    assert.ok(plain.review.response?.patch, 'the shared-GPU pod is patched');
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), review]);
    const gzip = gzipSync(review);
    const others = [
      await post(review, json),
      await post(gzip, { ...declared(gzip), 'content-encoding': 'gzip' }),
      await post(review, { ...declared(review), 'content-type': 'application/json; charset=UTF-8' }),
      await post(bom, declared(bom)),
      await post(bom, json),
    ];
    for (const other of others) assert.deepEqual(other, plain);
  });

  it('when a small body is not valid JSON, then HTTP 400 still echoes the uid it carries', async () => {
    const broken = Buffer.from('{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-broken","object":{');
    const res = await post(broken, declared(broken));
    assert.equal(res.status, 400);
    assert.match(res.review.response?.status?.message ?? '', /the body is not valid JSON/);
    assert.equal(res.review.response?.uid, 'u-broken');
  });

  it('when a body of a few hundred bytes nests 300 levels, then it is refused as too deep on either path', async () => {
    const deep = JSON.stringify(fixture('shared-gpu-pod')).replace('"containers":', `"extra":${'['.repeat(300)}${']'.repeat(300)},"containers":`);
    const body = Buffer.from(deep);
    for (const headers of [declared(body), json]) {
      const res = await post(body, headers);
      assert.equal(res.status, 400);
      assert.match(res.review.response?.status?.message ?? '', /nests deeper than 256 levels/);
      assert.equal(res.review.response?.uid, fixture('shared-gpu-pod').request?.uid);
    }
  });

  it('when the client goes away in the middle of its body, then the failure is logged and the next review is answered', { timeout: 60_000 }, async () => {
    await new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/mutate', method: 'POST', agent: false, headers: { ...json, 'content-length': String(review.length) } });
      req.on('error', () => resolve());
      req.write(review.subarray(0, 100), () => setTimeout(() => {
        req.destroy();
        resolve();
      }, 50));
    });
    while (!lines.some((l) => l.msg === 'request failed' && l.err === 'request aborted')) await new Promise((r) => setTimeout(r, 20));
    const next = await post(review, declared(review));
    assert.equal(next.status, 200);
  });
});
