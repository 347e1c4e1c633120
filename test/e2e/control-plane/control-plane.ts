// A real, throwaway Kubernetes control plane for end-to-end tests:
// etcd + kube-apiserver + kube-controller-manager + kube-scheduler, all on
// loopback with free ports, a fresh PKI and a fresh etcd data dir under
// `workDir`. There is no kubelet: Node objects are created by the tests and
// pods get bound by the real scheduler but never run.
//
// Binaries come from ./build.sh (cached outside the repo). Only node built-ins
// and `openssl` are used.
//
// Choices that make scheduling work without a kubelet:
// - The TaintNodesByCondition admission plugin is disabled, so a Node created
//   by a test does not get the node.kubernetes.io/not-ready:NoSchedule taint
//   that only a kubelet-driven Ready condition would remove.
// - The node-lifecycle controller is disabled, so nodes without kubelet
//   heartbeats are never marked unreachable, tainted or evicted.
// - Nodes may set status (capacity/allocatable, conditions) on create.
//   allocatable.pods must be > 0, or the scheduler reports "Too many pods".
// The ServiceAccount admission plugin stays enabled (as in real clusters):
// the controller-manager creates each namespace's "default" ServiceAccount
// shortly after the namespace; a Pod created before that is rejected, so tests
// that create Pods directly in a fresh namespace should wait for it.

import { spawn, execFile, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile, open } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { createServer, type AddressInfo } from "node:net";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** Defaults shared with build.sh (both honour K8S_VERSION / ETCD_VERSION). */
export const DEFAULT_K8S_VERSION = "v1.37.2";
export const DEFAULT_ETCD_VERSION = "v3.6.16";

export interface ControlPlaneOptions {
  /** Directory for PKI, etcd data, kubeconfigs and logs. Created if missing. */
  workDir: string;
  /** Directory holding kube-apiserver, kube-controller-manager, kube-scheduler. */
  binDir?: string;
  /** Path of the etcd binary. */
  etcdBin?: string;
  /** Progress messages (not component logs; those go to `<workDir>/logs`). */
  log?: (message: string) => void;
  /** Per-phase readiness timeout. Default 120 s. */
  startTimeoutMs?: number;
  /** Extra kube-apiserver flags, e.g. ["--v=4"]; later flags win. */
  extraApiServerArgs?: string[];
}

export interface ControlPlane {
  /** Path of an admin (system:masters) kubeconfig with embedded credentials. */
  kubeconfig: string;
  /** e.g. https://127.0.0.1:41234 */
  apiServerUrl: string;
  caCertPath: string;
  /** CA key, e.g. to sign a webhook serving cert with `createServingCert`. */
  caKeyPath: string;
  adminCertPath: string;
  adminKeyPath: string;
  /** Component logs: etcd.log, kube-apiserver.log, ... */
  logDir: string;
  etcdUrl: string;
  /** Stops every component (SIGTERM, then SIGKILL after a grace period). */
  stop(): Promise<void>;
  /** Stops kube-apiserver and starts it again on the same port; resolves when ready. */
  restartApiServer(): Promise<void>;
}

interface Managed {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
  exitCode: number | null | undefined; // undefined while running
}

interface Tls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecure?: boolean;
}

function defaultCacheDir(): string {
  return process.env["GPU_ADMISSION_CACHE"] ?? join(homedir(), ".cache", "gpu-admission");
}

/** Default binary locations, matching build.sh's output. */
export function defaultBinaries(): { binDir: string; etcdBin: string } {
  const k8s = process.env["K8S_VERSION"] ?? DEFAULT_K8S_VERSION;
  const etcd = process.env["ETCD_VERSION"] ?? DEFAULT_ETCD_VERSION;
  return {
    binDir: process.env["K8S_BIN_DIR"] ?? join(defaultCacheDir(), `k8s-${k8s}`, "bin"),
    etcdBin: process.env["ETCD_BIN"] ?? join(defaultCacheDir(), `etcd-${etcd}`, "bin", "etcd"),
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Reserves `n` distinct free loopback ports (all held open until chosen). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, async () => {
      const srv = createServer();
      srv.listen(0, "127.0.0.1");
      await once(srv, "listening");
      return srv;
    }),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

async function openssl(args: string[]): Promise<void> {
  await execFileAsync("openssl", args);
}

const genEcKey = (out: string) =>
  openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", out]);

/** Issues a leaf certificate signed by the CA. `ext` is an x509v3 extension section body. */
async function issueCert(o: {
  dir: string;
  name: string;
  subject: string;
  ext: string;
  caCert: string;
  caKey: string;
}): Promise<{ certPath: string; keyPath: string }> {
  const keyPath = join(o.dir, `${o.name}.key`);
  const certPath = join(o.dir, `${o.name}.crt`);
  const csr = join(o.dir, `${o.name}.csr`);
  const extFile = join(o.dir, `${o.name}.ext`);
  await genEcKey(keyPath);
  await openssl(["req", "-new", "-key", keyPath, "-subj", o.subject, "-out", csr]);
  await writeFile(extFile, `[v3]\nbasicConstraints = critical,CA:FALSE\nauthorityKeyIdentifier = keyid\n${o.ext}\n`);
  const serial = "0x" + randomBytes(16).toString("hex");
  await openssl([
    "x509", "-req", "-in", csr, "-CA", o.caCert, "-CAkey", o.caKey, "-set_serial", serial,
    "-days", "365", "-sha256", "-extfile", extFile, "-extensions", "v3", "-out", certPath,
  ]);
  return { certPath, keyPath };
}

/**
 * Issues a serving certificate (e.g. for the webhook under test) signed by the
 * control plane's CA. `hosts` are IPs or DNS names.
 */
export async function createServingCert(o: {
  caCertPath: string;
  caKeyPath: string;
  outDir: string;
  name: string;
  hosts: string[];
}): Promise<{ certPath: string; keyPath: string }> {
  await mkdir(o.outDir, { recursive: true });
  const san = o.hosts.map((h) => (/^[0-9.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(",");
  return issueCert({
    dir: o.outDir, name: o.name, subject: `/CN=${o.name}`, caCert: o.caCertPath, caKey: o.caKeyPath,
    ext: `keyUsage = critical,digitalSignature,keyEncipherment\nextendedKeyUsage = serverAuth\nsubjectAltName = ${san}`,
  });
}

async function createPki(dir: string) {
  await mkdir(dir, { recursive: true });
  const caKey = join(dir, "ca.key");
  const caCert = join(dir, "ca.crt");
  const caCnf = join(dir, "ca.cnf");
  await writeFile(
    caCnf,
    "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = gpu-admission-e2e-ca\n" +
      "[v3]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign,digitalSignature\n" +
      "subjectKeyIdentifier = hash\n",
  );
  await genEcKey(caKey);
  await openssl(["req", "-x509", "-new", "-key", caKey, "-sha256", "-days", "365", "-config", caCnf, "-extensions", "v3", "-out", caCert]);

  const ca = { dir, caCert, caKey };
  const serving = await issueCert({
    ...ca, name: "apiserver", subject: "/CN=kube-apiserver",
    ext:
      "keyUsage = critical,digitalSignature,keyEncipherment\nextendedKeyUsage = serverAuth\n" +
      "subjectAltName = IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default," +
      "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local",
  });
  const admin = await issueCert({
    ...ca, name: "admin", subject: "/O=system:masters/CN=kubernetes-admin",
    ext: "keyUsage = critical,digitalSignature,keyEncipherment\nextendedKeyUsage = clientAuth",
  });

  // Service-account token signing key pair (RSA, as kubeadm does).
  const saKey = join(dir, "sa.key");
  const saPub = join(dir, "sa.pub");
  await openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", saKey]);
  await openssl(["pkey", "-in", saKey, "-pubout", "-out", saPub]);
  return { caCert, caKey, serving, admin, saKey, saPub };
}

function kubeconfigYaml(server: string, ca: Buffer, cert: Buffer, key: Buffer): string {
  const b64 = (b: Buffer) => b.toString("base64");
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: e2e",
    "  cluster:",
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(ca)}`,
    "users:",
    "- name: admin",
    "  user:",
    `    client-certificate-data: ${b64(cert)}`,
    `    client-key-data: ${b64(key)}`,
    "contexts:",
    "- name: e2e",
    "  context:",
    "    cluster: e2e",
    "    user: admin",
    "current-context: e2e",
    "",
  ].join("\n");
}

function get(url: string, tls: Tls, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const onResponse = (res: IncomingMessage) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolvePromise({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    };
    const req = url.startsWith("https:")
      ? httpsRequest(url, {
          method: "GET", agent: false, timeout: timeoutMs,
          ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !tls.insecure,
        }, onResponse)
      : httpRequest(url, { method: "GET", agent: false, timeout: timeoutMs }, onResponse);
    req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

async function tail(file: string, lines = 30): Promise<string> {
  try {
    return (await readFile(file, "utf8")).split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const t0 = Date.now();
  const log = opts.log ?? (() => {});
  const timeoutMs = opts.startTimeoutMs ?? 120_000;
  const defaults = defaultBinaries();
  const binDir = resolve(opts.binDir ?? defaults.binDir);
  const etcdBin = resolve(opts.etcdBin ?? defaults.etcdBin);
  const bin = (name: string) => join(binDir, name);
  for (const b of [etcdBin, bin("kube-apiserver"), bin("kube-controller-manager"), bin("kube-scheduler")]) {
    if (!existsSync(b)) {
      throw new Error(`missing ${b}: run test/e2e/control-plane/build.sh first (or pass binDir/etcdBin)`);
    }
  }

  const workDir = resolve(opts.workDir);
  const logDir = join(workDir, "logs");
  await mkdir(logDir, { recursive: true });
  const pki = await createPki(join(workDir, "pki"));
  const caPem = await readFile(pki.caCert);
  const adminCert = await readFile(pki.admin.certPath);
  const adminKey = await readFile(pki.admin.keyPath);
  const apiTls: Tls = { ca: caPem, cert: adminCert, key: adminKey };
  log(`pki ready in ${Date.now() - t0} ms`);

  const [etcdClientPort, etcdPeerPort, apiPort, kcmPort, schedPort] = (await freePorts(5)) as [
    number, number, number, number, number,
  ];
  const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
  const apiServerUrl = `https://127.0.0.1:${apiPort}`;
  const kubeconfig = join(workDir, "admin.kubeconfig");
  await writeFile(kubeconfig, kubeconfigYaml(apiServerUrl, caPem, adminCert, adminKey), { mode: 0o600 });

  const procs: Managed[] = [];
  // Last-resort cleanup if the test process exits without calling stop().
  const killAllSync = () => {
    for (const p of procs) if (p.exitCode === undefined) p.child.kill("SIGKILL");
  };
  process.once("exit", killAllSync);

  const startProc = async (name: string, binPath: string, args: string[]): Promise<Managed> => {
    const logFile = join(logDir, `${name}.log`);
    const fh = await open(logFile, "a");
    await fh.write(`\n==== ${new Date().toISOString()} ${binPath} ${args.join(" ")}\n`);
    const out = fh.createWriteStream();
    const child = spawn(binPath, args, { cwd: workDir, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.pipe(out, { end: false });
    child.stderr?.pipe(out, { end: false });
    const m: Managed = { name, child, exitCode: undefined, exited: Promise.resolve() };
    m.exited = new Promise<void>((r) => {
      const done = (code: number | null) => {
        if (m.exitCode !== undefined) return;
        m.exitCode = code;
        out.end();
        r();
      };
      // "close" comes after "exit" once stdout/stderr are drained.
      child.once("close", (code, signal) => done(code ?? (signal ? -1 : null)));
      child.once("error", (err) => {
        out.write(`spawn error: ${err.message}\n`);
        done(-1);
      });
    });
    const idx = procs.findIndex((p) => p.name === name);
    if (idx >= 0) procs[idx] = m;
    else procs.push(m);
    return m;
  };

  const waitFor = async (what: string, proc: Managed, check: () => Promise<boolean>) => {
    const deadline = Date.now() + timeoutMs;
    let lastErr = "";
    while (Date.now() < deadline) {
      if (proc.exitCode !== undefined) {
        throw new Error(`${proc.name} exited (${proc.exitCode}) while waiting for ${what}:\n${await tail(join(logDir, `${proc.name}.log`))}`);
      }
      try {
        if (await check()) return;
      } catch (e) {
        lastErr = e instanceof Error ? e.message : String(e);
      }
      await sleep(250);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${lastErr}):\n${await tail(join(logDir, `${proc.name}.log`))}`);
  };

  const stopProc = async (p: Managed, graceMs = 10_000) => {
    if (p.exitCode === undefined) {
      p.child.kill("SIGTERM");
      const timer = setTimeout(() => p.child.kill("SIGKILL"), graceMs);
      await p.exited;
      clearTimeout(timer);
    }
    await p.exited;
  };

  const stop = async () => {
    for (const p of [...procs].reverse()) await stopProc(p);
    process.removeListener("exit", killAllSync);
  };

  const apiServerArgs = [
    `--etcd-servers=${etcdUrl}`,
    `--secure-port=${apiPort}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    // The "kubernetes" Service's endpoints may not be loopback IPs; nothing
    // in-cluster needs them (no pods run), so don't reconcile them at all.
    "--endpoint-reconciler-type=none",
    `--cert-dir=${join(workDir, "apiserver-certs")}`, // unused (certs given), keeps /var/run clean
    `--tls-cert-file=${pki.serving.certPath}`,
    `--tls-private-key-file=${pki.serving.keyPath}`,
    `--client-ca-file=${pki.caCert}`,
    `--service-account-key-file=${pki.saPub}`,
    `--service-account-signing-key-file=${pki.saKey}`,
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    "--authorization-mode=RBAC",
    "--service-cluster-ip-range=10.0.0.0/24",
    "--allow-privileged=true",
    "--disable-admission-plugins=TaintNodesByCondition",
    "--profiling=false",
    // On SIGTERM, drain in-flight requests, then give open connections (watches)
    // 2 s instead of the default 60 s: restartApiServer() and stop() stay fast.
    "--shutdown-send-retry-after=true",
    ...(opts.extraApiServerArgs ?? []),
  ];
  const apiReady = async () => (await get(`${apiServerUrl}/readyz`, apiTls)).status === 200;

  try {
    // etcd
    const etcdPeer = `http://127.0.0.1:${etcdPeerPort}`;
    const etcd = await startProc("etcd", etcdBin, [
      "--name=e2e",
      `--data-dir=${join(workDir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${etcdPeer}`,
      `--initial-advertise-peer-urls=${etcdPeer}`,
      `--initial-cluster=e2e=${etcdPeer}`,
      "--initial-cluster-state=new",
      "--unsafe-no-fsync=true", // test data only: skip fsync for speed
      "--log-level=warn",
    ]);
    await waitFor("etcd /health", etcd, async () => {
      const r = await get(`${etcdUrl}/health`, {});
      return r.status === 200 && r.body.includes('"health":"true"');
    });
    log(`etcd ready at ${etcdUrl} (${Date.now() - t0} ms)`);

    // kube-apiserver
    const api = await startProc("kube-apiserver", bin("kube-apiserver"), apiServerArgs);
    await waitFor("kube-apiserver /readyz", api, apiReady);
    log(`kube-apiserver ready at ${apiServerUrl} (${Date.now() - t0} ms)`);

    // kube-controller-manager and kube-scheduler: admin credentials, no leader
    // election. No --authentication/authorization-kubeconfig: their own HTTPS
    // endpoints only serve /healthz to us (always allowed), and delegated authn
    // would spam errors about the unconfigured front-proxy (requestheader) CA.
    const common = [
      `--kubeconfig=${kubeconfig}`,
      "--bind-address=127.0.0.1",
      "--leader-elect=false",
    ];
    const kcm = await startProc("kube-controller-manager", bin("kube-controller-manager"), [
      ...common,
      `--secure-port=${kcmPort}`,
      "--use-service-account-credentials=false",
      `--service-account-private-key-file=${pki.saKey}`,
      `--root-ca-file=${pki.caCert}`,
      `--cluster-signing-cert-file=${pki.caCert}`,
      `--cluster-signing-key-file=${pki.caKey}`,
      // No kubelet posts node heartbeats: node-lifecycle would taint and evict.
      "--controllers=*,-node-lifecycle-controller",
    ]);
    const sched = await startProc("kube-scheduler", bin("kube-scheduler"), [...common, `--secure-port=${schedPort}`]);
    await Promise.all([
      waitFor("kube-controller-manager /healthz", kcm, async () =>
        (await get(`https://127.0.0.1:${kcmPort}/healthz`, { insecure: true })).status === 200),
      waitFor("kube-scheduler /healthz", sched, async () =>
        (await get(`https://127.0.0.1:${schedPort}/healthz`, { insecure: true })).status === 200),
    ]);
    // The serviceaccount controller is running once default/default exists.
    await waitFor("ServiceAccount default/default", kcm, async () =>
      (await get(`${apiServerUrl}/api/v1/namespaces/default/serviceaccounts/default`, apiTls)).status === 200);
    log(`control plane ready in ${Date.now() - t0} ms`);
  } catch (e) {
    await stop();
    throw e;
  }

  const restartApiServer = async () => {
    const t = Date.now();
    const old = procs.find((p) => p.name === "kube-apiserver");
    if (old) await stopProc(old);
    const api = await startProc("kube-apiserver", bin("kube-apiserver"), apiServerArgs);
    await waitFor("kube-apiserver /readyz after restart", api, apiReady);
    log(`kube-apiserver restarted in ${Date.now() - t} ms`);
  };

  return {
    kubeconfig,
    apiServerUrl,
    caCertPath: pki.caCert,
    caKeyPath: pki.caKey,
    adminCertPath: pki.admin.certPath,
    adminKeyPath: pki.admin.keyPath,
    logDir,
    etcdUrl,
    stop,
    restartApiServer,
  };
}
