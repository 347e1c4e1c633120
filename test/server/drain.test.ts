import assert from 'node:assert/strict';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { drainable } from '../../src/server/drain.ts';

function get(port: number, agent: Agent, onHeadersSent?: () => void): Promise<{ status: number; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, agent, path: '/' }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
    });
    req.on('error', reject);
    req.end(onHeadersSent);
  });
}

describe('drainable', () => {
  it('when draining with a request in flight on a keep-alive connection, then it finishes, the connection closes and the server closes', { timeout: 60_000 }, async () => {
    let release: () => void = () => {};
    let arrived: () => void = () => {};
    const inFlight = new Promise<void>((resolve) => (arrived = resolve));
    const server = createServer((_req, res) => {
      arrived();
      release = () => res.end('done');
    });
    server.keepAliveTimeout = 600_000; // without the drainer the idle connection would hold close() this long
    const drainer = drainable(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const agent = new Agent({ keepAlive: true });
    try {
      const answer = get(port, agent);
      await inFlight;
      let closed = false;
      const drained = drainer.drain().then(() => (closed = true));
      await assert.rejects(get(port, new Agent()), { code: 'ECONNREFUSED' }, 'no new connections while draining');
      assert.equal(closed, false, 'the server waits for the request in flight');
      release();
      assert.equal((await answer).status, 200);
      await drained;
      assert.equal(server.listening, false);
    } finally {
      agent.destroy();
      server.closeAllConnections();
    }
  });

  it('when draining with only idle keep-alive connections, then the server closes at once', { timeout: 60_000 }, async () => {
    const server = createServer((_req, res) => res.end('ok'));
    server.keepAliveTimeout = 600_000;
    const drainer = drainable(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const agent = new Agent({ keepAlive: true });
    try {
      await get((server.address() as AddressInfo).port, agent);
      await drainer.drain();
      assert.equal(server.listening, false);
    } finally {
      agent.destroy();
    }
  });
});
