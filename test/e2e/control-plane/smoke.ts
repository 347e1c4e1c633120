// Smoke test of the e2e control plane (run: node test/e2e/control-plane/smoke.ts).
// Starts the control plane, registers a kubelet-less GPU Node, creates a
// Deployment requesting nvidia.com/gpu: 1 and waits until the real scheduler
// binds its pod; then restarts kube-apiserver, checks the API again and stops.
// Needs the binaries from build.sh and kubectl on PATH.

import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startControlPlane } from "./control-plane.ts";

const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
const say = (msg: string) => console.log(`[smoke +${elapsed()}] ${msg}`);

function kubectl(kubeconfig: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("kubectl", [`--kubeconfig=${kubeconfig}`, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`kubectl ${args.join(" ")} exited ${code}: ${err}`)));
    child.stdin.end(input ?? "");
  });
}

// A Node as a kubelet would register it, minus the kubelet: status (capacity,
// allocatable incl. pods and the GPU extended resource, Ready condition) may
// be set on create.
const node = {
  apiVersion: "v1",
  kind: "Node",
  metadata: { name: "gpu-node-1", labels: { "kubernetes.io/hostname": "gpu-node-1", "kubernetes.io/os": "linux" } },
  status: {
    capacity: { cpu: "16", memory: "64Gi", pods: "110", "nvidia.com/gpu": "8" },
    allocatable: { cpu: "16", memory: "64Gi", pods: "110", "nvidia.com/gpu": "8" },
    conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "fake node for e2e" }],
  },
};

const deployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "gpu-smoke", namespace: "default" },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: "gpu-smoke" } },
    template: {
      metadata: { labels: { app: "gpu-smoke" } },
      spec: {
        containers: [{
          name: "main",
          image: "registry.k8s.io/pause:3.10", // never pulled: there is no kubelet
          resources: { limits: { "nvidia.com/gpu": "1" } },
        }],
      },
    },
  },
};

/** Waits until `n` gpu-smoke pods have spec.nodeName; returns "pod on node" strings. */
async function waitBound(kubeconfig: string, n: number): Promise<string[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const out = await kubectl(kubeconfig, [
      "get", "pods", "-l", "app=gpu-smoke", "-o", "jsonpath={range .items[*]}{.metadata.name} on {.spec.nodeName}{\"\\n\"}{end}",
    ]);
    const bound = out.split("\n").filter((l) => /\bon \S+$/.test(l));
    if (bound.length >= n) return bound;
    if (Date.now() > deadline) throw new Error(`${n} pod(s) not bound within 60 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const workDir = await mkdtemp(join(tmpdir(), "gpu-admission-cp-"));
say(`workDir ${workDir}`);
const cp = await startControlPlane({ workDir, log: say });
let failed = false;
try {
  say(`control plane up at ${cp.apiServerUrl}`);
  say(`server version: ${JSON.parse(await kubectl(cp.kubeconfig, ["version", "-o", "json"])).serverVersion.gitVersion}`);

  await kubectl(cp.kubeconfig, ["create", "-f", "-"], JSON.stringify(node));
  const taints = await kubectl(cp.kubeconfig, ["get", "node", "gpu-node-1", "-o", "jsonpath={.spec.taints}"]);
  say(`node created; taints: ${taints || "(none)"}`);

  const tDeploy = Date.now();
  await kubectl(cp.kubeconfig, ["create", "-f", "-"], JSON.stringify(deployment));
  const bound = await waitBound(cp.kubeconfig, 1);
  say(`pod bound: ${bound.join(", ")} (${Date.now() - tDeploy} ms after Deployment create)`);

  // After a kube-apiserver restart the controller-manager and scheduler must
  // recover their watches: scale to 2 and wait for the second pod to be bound.
  await cp.restartApiServer();
  const tScale = Date.now();
  await kubectl(cp.kubeconfig, ["scale", "deployment/gpu-smoke", "--replicas=2"]);
  await waitBound(cp.kubeconfig, 2);
  say(`2 pods bound after apiserver restart (${Date.now() - tScale} ms after scale)`);
  say(`pods:\n${(await kubectl(cp.kubeconfig, ["get", "pods", "-o", "wide"])).trim()}`);
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  const tStop = Date.now();
  await cp.stop();
  say(`stopped (${Date.now() - tStop} ms); logs in ${cp.logDir}`);
}
say(failed ? "FAILED" : "OK");
process.exitCode = failed ? 1 : 0;
