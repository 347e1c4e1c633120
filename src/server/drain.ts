import type { Server } from 'node:http';

export interface Drainer {
  /**
   * Stops accepting connections, lets every request in flight finish, closes each keep-alive
   * connection as soon as it falls idle, and resolves once the server is closed.
   */
  drain(): Promise<void>;
}

/**
 * Prepares a server for a graceful stop. Node's `server.close()` closes only the connections idle
 * at that moment; one whose request is still running would then stay open for the whole
 * keep-alive timeout. So, once draining, every finished response closes its idle connection.
 */
export function drainable(server: Server): Drainer {
  let draining = false;
  server.on('request', (_req, res) => {
    res.on('finish', () => {
      if (draining) setImmediate(() => server.closeIdleConnections());
    });
  });
  return {
    drain() {
      draining = true;
      return new Promise((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      });
    },
  };
}
