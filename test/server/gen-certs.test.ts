import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadKeyPair } from '../../src/server/tls.ts';
import { genCerts } from './certs.ts';

const root = mkdtempSync(join(tmpdir(), 'gpu-admission-gen-certs-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('certs/gen-certs.sh', () => {
  it('when run for a service, then the certificate names the service DNS and local addresses, and stdout is the caBundle', () => {
    const dir = join(root, 'svc');
    const out = genCerts(dir, '-s', 'hook', '-n', 'gpu');
    const ca = readFileSync(join(dir, 'ca.crt'));
    assert.equal(out.trim(), ca.toString('base64'));
    const cert = new X509Certificate(readFileSync(join(dir, 'tls.crt')));
    for (const host of ['hook.gpu.svc', 'hook.gpu.svc.cluster.local', 'hook.gpu', 'localhost']) {
      assert.equal(cert.checkHost(host), host, `valid for ${host}`);
    }
    assert.equal(cert.checkHost('other.gpu.svc'), undefined);
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
    assert.ok(cert.verify(new X509Certificate(ca).publicKey), 'signed by the CA');
    assert.equal(cert.ca, false);
    assert.ok(loadKeyPair({ certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') }));
    assert.equal(statSync(join(dir, 'tls.key')).mode & 0o077, 0, 'the key is readable by its owner only');
  });

  it('when run again, then the CA (and so the caBundle) is kept and the serving certificate renewed', () => {
    const dir = join(root, 'again');
    const first = genCerts(dir);
    const cert = readFileSync(join(dir, 'tls.crt'));
    const second = genCerts(dir);
    assert.equal(second, first);
    assert.notDeepEqual(readFileSync(join(dir, 'tls.crt')), cert);
  });

  it('when a host outside the cluster is given (a webhook run on a laptop), then the certificate names it too', () => {
    const dir = join(root, 'laptop');
    genCerts(dir, '-H', 'my-laptop.example');
    const cert = new X509Certificate(readFileSync(join(dir, 'tls.crt')));
    assert.equal(cert.checkHost('my-laptop.example'), 'my-laptop.example');
    assert.equal(cert.checkHost('gpu-admission.gpu-admission.svc'), 'gpu-admission.gpu-admission.svc');
    genCerts(join(root, 'laptop-ip'), '-H', '192.0.2.7');
    assert.equal(new X509Certificate(readFileSync(join(root, 'laptop-ip', 'tls.crt'))).checkIP('192.0.2.7'), '192.0.2.7');
  });

  it('when -H repeats a name the certificate already has, or is given twice, then each name is listed once and every host is named', () => {
    const dir = join(root, 'dup');
    genCerts(dir, '-H', 'localhost', '-H', '127.0.0.1', '-H', 'my-laptop.example', '-H', 'my-laptop.example', '-H', '192.0.2.7');
    const cert = new X509Certificate(readFileSync(join(dir, 'tls.crt')));
    const names = (cert.subjectAltName ?? '').split(', ');
    assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), [], cert.subjectAltName);
    assert.equal(cert.checkHost('my-laptop.example'), 'my-laptop.example');
    assert.equal(cert.checkIP('192.0.2.7'), '192.0.2.7');
    assert.equal(names.length, 9, cert.subjectAltName);
  });

  it('when an option is unknown, then it exits with usage', () => {
    assert.throws(() => genCerts(join(root, 'bad'), '-x'), { status: 2 });
  });
});
