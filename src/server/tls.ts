import { X509Certificate, constants as cryptoConstants, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { RequestListener } from 'node:http';
import type { Socket } from 'node:net';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';
import { watchFiles } from './file-watch.ts';

/** What readiness and metrics need to know about the serving certificate. */
export interface CertificateStatus {
  /** Why the certificate cannot serve (expired), or undefined. */
  notReadyReason(): string | undefined;
  /** notAfter of the certificate in force, seconds since the epoch. */
  expiresAt(): number | undefined;
}

export interface KeyPairFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export type CertificateErrorCode = 'GA_CERT_UNREADABLE' | 'GA_CERT_INVALID' | 'GA_CERT_KEY_MISMATCH' | 'GA_CERT_EXPIRED';

export class CertificateError extends Error {
  readonly code: CertificateErrorCode;
  constructor(code: CertificateErrorCode, message: string) {
    super(message);
    this.name = 'CertificateError';
    this.code = code;
  }
}

/** A certificate and key that belong together, read from their files. */
export interface KeyPair {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly fingerprint: string;
  readonly notAfter: Date;
}

export type CertificateEvent =
  | { readonly type: 'reloaded'; readonly pair: KeyPair }
  | { readonly type: 'rejected'; readonly code: CertificateErrorCode; readonly reason: string };

/**
 * Reads and checks a key pair: both files readable, the certificate parses, the key is the
 * certificate's and the pair makes a TLS context, and the certificate has not expired.
 */
export function loadKeyPair({ certFile, keyFile }: KeyPairFiles, now: () => number = Date.now): KeyPair {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(certFile);
    key = readFileSync(keyFile);
  } catch (err) {
    throw new CertificateError('GA_CERT_UNREADABLE', (err as Error).message);
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new CertificateError('GA_CERT_INVALID', `${certFile}: not a PEM certificate (${(err as Error).message})`);
  }
  try {
    if (!x509.checkPrivateKey(createPrivateKey(key))) throw new Error('mismatch');
    createSecureContext(contextOptions(cert, key));
  } catch (err) {
    const why = (err as Error).message === 'mismatch' ? 'is not the key of' : `and ${certFile} do not make a TLS pair with`;
    throw new CertificateError('GA_CERT_KEY_MISMATCH', `${keyFile} ${why} ${certFile}`);
  }
  if (x509.validToDate.getTime() <= now()) {
    throw new CertificateError('GA_CERT_EXPIRED', `${certFile} expired at ${x509.validToDate.toISOString()}`);
  }
  return { cert, key, fingerprint: x509.fingerprint256, notAfter: x509.validToDate };
}

/** TLS 1.2 is the oldest the API server speaks; nothing older is offered. */
const contextOptions = (cert: Buffer, key: Buffer): SecureContextOptions =>
  // No client-initiated renegotiation: each is a full handshake a caller could ask for again and again.
  ({ cert, key, minVersion: 'TLSv1.2', secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION });

/**
 * The API server keeps webhook connections idle for up to 90 s (Go's transport default). A
 * server that closes idle connections sooner races the client's next POST, which Go does not
 * retry, and the review fails. So connections stay open longer than the client keeps them.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;

/**
 * The whole request (headers and body) must arrive within this long by default. The API server
 * waits at most the webhook's timeoutSeconds (5 s in our manifests, 30 s at most), so a slower
 * upload is no review anyone waits for; it only holds memory and a connection.
 */
export const REQUEST_TIMEOUT_MS = 10_000;

/**
 * A connection must finish its TLS handshake within this long (Node's default is 120 s): one that
 * never sends a ClientHello holds buffers and a file descriptor for nothing.
 */
export const HANDSHAKE_TIMEOUT_MS = 5_000;

/**
 * Open connections at most; past it new ones are closed at once. Each idle TLS connection costs
 * about 18 KB, and glibc does not give all of it back, so tens of thousands would push the
 * process past its memory limit.
 */
export const MAX_CONNECTIONS = 2_000;

/**
 * Open connections from one address at most. The API server opens one connection per review in
 * flight (HTTP/1.1), so a burst of pod creations from one API server may hold a few hundred
 * (the in-flight cap and its waiting line are 264 by default); a caller that opens more is cut,
 * so that it cannot take every connection from the API server.
 */
export const MAX_CONNECTIONS_PER_CLIENT = 300;

export interface WatchOptions {
  readonly logger: Logger;
  readonly now?: () => number;
  /** Re-read the files this often as well, in case a change notification is missed; 0: never. */
  readonly pollIntervalMs?: number;
}

/** The serving certificate in force, following its files. */
export interface ServingCertificate extends CertificateStatus {
  current(): KeyPair;
  /** Re-reads the files now; the new pair is taken if valid and different. */
  reload(): CertificateEvent | undefined;
  /** Listens to reloads and rejections; returns the function that stops listening. */
  on(listener: (event: CertificateEvent) => void): () => void;
  /** Stops watching the files. */
  stop(): void;
}


/**
 * Loads the key pair (throwing a CertificateError if it is unusable) and follows its files. It
 * watches the directories that hold them — a Kubernetes Secret volume updates by swapping its
 * `..data` symlink, which only the directory sees — and takes a changed pair when it is valid;
 * an invalid one is logged and the pair in force kept.
 */
export function watchCertificate(files: KeyPairFiles, options: WatchOptions): ServingCertificate {
  const { now = Date.now, pollIntervalMs = 60_000 } = options;
  const log = options.logger.child({ component: 'tls' });
  let current = loadKeyPair(files, now);
  const listeners = new Set<(event: CertificateEvent) => void>();

  const reload = (): CertificateEvent | undefined => {
    let event: CertificateEvent;
    try {
      const next = loadKeyPair(files, now);
      if (next.cert.equals(current.cert) && next.key.equals(current.key)) return undefined;
      current = next;
      event = { type: 'reloaded', pair: next };
      log.info({ fingerprint: next.fingerprint, notAfter: next.notAfter.toISOString() }, 'serving certificate reloaded');
    } catch (err) {
      const e = err instanceof CertificateError ? err : new CertificateError('GA_CERT_INVALID', (err as Error).message);
      event = { type: 'rejected', code: e.code, reason: e.message };
      log.warn({ code: e.code, reason: e.message, fingerprint: current.fingerprint }, 'new certificate rejected; keeping the one in force');
    }
    for (const listener of listeners) listener(event);
    return event;
  };

  const stop = watchFiles([files.certFile, files.keyFile], pollIntervalMs, () => void reload(), log, 'certificate');
  return {
    current: () => current,
    reload,
    stop,
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    expiresAt: () => Math.floor(current.notAfter.getTime() / 1000),
    notReadyReason: () => (current.notAfter.getTime() <= now() ? `expired at ${current.notAfter.toISOString()}` : undefined),
  };
}

/**
 * An HTTPS server for the app that swaps in each certificate reload with setSecureContext: new
 * connections get the new certificate, open connections keep the one they were made with.
 */
export function createTlsServer(app: RequestListener, certificate: ServingCertificate, requestTimeoutMs = REQUEST_TIMEOUT_MS): Server {
  const { cert, key } = certificate.current();
  // Node checks these timeouts every connectionsCheckingInterval (30 s by default): check each second.
  const server = createServer({
    ...contextOptions(cert, key), requestTimeout: requestTimeoutMs, headersTimeout: requestTimeoutMs, connectionsCheckingInterval: 1_000,
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
  }, app);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.maxConnections = MAX_CONNECTIONS;
  const perClient = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const client = socket.remoteAddress ?? '';
    const open = (perClient.get(client) ?? 0) + 1;
    if (open > MAX_CONNECTIONS_PER_CLIENT) {
      socket.destroy();
      return;
    }
    perClient.set(client, open);
    socket.once('close', () => {
      const left = (perClient.get(client) ?? 1) - 1;
      if (left > 0) perClient.set(client, left);
      else perClient.delete(client);
    });
  });
  certificate.on((event) => {
    if (event.type === 'reloaded') server.setSecureContext(contextOptions(event.pair.cert, event.pair.key));
  });
  return server;
}
