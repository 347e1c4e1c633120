// The Node and Pod lists in Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`),
// read for the cluster view: a schema that declares only the fields toClusterNode and
// toClusterPod read (src/cluster/model.ts), so the decoder skips everything else — managedFields,
// images, probes, env, statuses — by its length, without decoding it. Each item comes out as
// the part of the JSON object the API server would have sent that those functions read, so the
// model is built by the same code from either encoding.
//
// The wire format is protobufjs's (its reflection-only build, `protobufjs/light`: no .proto
// parser). Field numbers from Kubernetes' generated.proto files (kubernetes/api
// core/v1/generated.proto; kubernetes/apimachinery pkg/apis/meta/v1/generated.proto,
// pkg/runtime/generated.proto, pkg/api/resource/generated.proto), as of Kubernetes 1.37; they
// never change once released. A body is the 4-byte magic `k8s\0` followed by a runtime.Unknown,
// whose `raw` (field 2, bytes) holds the List: an embedded message has the same wire form as
// bytes, so the schema declares `raw` as the List itself and decodes both in one pass.
import protobuf from 'protobufjs/light.js';

/** `k8s\0`: the first four bytes of every protobuf body (runtime/serializer/protobuf). */
const MAGIC = [0x6b, 0x38, 0x73, 0x00] as const;

/** A map<string, V> field is, on the wire, a repeated message of key = 1 and value = 2. */
const entries = (value: string, id: number) => ({ rule: 'repeated', type: value, id });

const ROOT = protobuf.Root.fromJSON({
  nested: {
    // apimachinery pkg/api/resource: message Quantity { optional string string = 1; }
    Quantity: { fields: { string: { type: 'string', id: 1 } } },
    QuantityEntry: { fields: { key: { type: 'string', id: 1 }, value: { type: 'Quantity', id: 2 } } },
    StringEntry: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
    // meta/v1 ListMeta: continue = 3.
    ListMeta: { fields: { continue: { type: 'string', id: 3 } } },
    // meta/v1 ObjectMeta: name = 1, namespace = 3, labels = 11, annotations = 12 (managedFields = 17 skipped).
    ObjectMeta: {
      fields: { name: { type: 'string', id: 1 }, namespace: { type: 'string', id: 3 }, labels: entries('StringEntry', 11), annotations: entries('StringEntry', 12) },
    },
    // core/v1 NodeSpec: unschedulable = 4.
    NodeSpec: { fields: { unschedulable: { type: 'bool', id: 4 } } },
    // core/v1 NodeCondition: type = 1, status = 2.
    NodeCondition: { fields: { type: { type: 'string', id: 1 }, status: { type: 'string', id: 2 } } },
    // core/v1 NodeStatus: capacity = 1, allocatable = 2 (map<string, Quantity>), conditions = 4.
    NodeStatus: {
      fields: { capacity: entries('QuantityEntry', 1), allocatable: entries('QuantityEntry', 2), conditions: { rule: 'repeated', type: 'NodeCondition', id: 4 } },
    },
    // core/v1 Node: metadata = 1, spec = 2, status = 3.
    Node: { fields: { metadata: { type: 'ObjectMeta', id: 1 }, spec: { type: 'NodeSpec', id: 2 }, status: { type: 'NodeStatus', id: 3 } } },
    // core/v1 ResourceRequirements: limits = 1, requests = 2 (map<string, Quantity>).
    ResourceRequirements: { fields: { limits: entries('QuantityEntry', 1), requests: entries('QuantityEntry', 2) } },
    // core/v1 Container: resources = 8, restartPolicy = 24 (optional: set only when the pod sets it).
    Container: { fields: { resources: { type: 'ResourceRequirements', id: 8 }, restartPolicy: { type: 'string', id: 24 } } },
    // core/v1 PodSpec: containers = 2, nodeName = 10, initContainers = 20.
    PodSpec: {
      fields: { containers: { rule: 'repeated', type: 'Container', id: 2 }, nodeName: { type: 'string', id: 10 }, initContainers: { rule: 'repeated', type: 'Container', id: 20 } },
    },
    // core/v1 PodStatus: phase = 1.
    PodStatus: { fields: { phase: { type: 'string', id: 1 } } },
    // core/v1 Pod: metadata = 1, spec = 2, status = 3.
    Pod: { fields: { metadata: { type: 'ObjectMeta', id: 1 }, spec: { type: 'PodSpec', id: 2 }, status: { type: 'PodStatus', id: 3 } } },
    // core/v1 NodeList and PodList: metadata = 1 (ListMeta), items = 2.
    NodeList: { fields: { metadata: { type: 'ListMeta', id: 1 }, items: { rule: 'repeated', type: 'Node', id: 2 } } },
    PodList: { fields: { metadata: { type: 'ListMeta', id: 1 }, items: { rule: 'repeated', type: 'Pod', id: 2 } } },
    // The List's metadata alone: the items (field 2) skipped by their length, to ask for the next page first.
    ListHead: { fields: { metadata: { type: 'ListMeta', id: 1 } } },
    // meta/v1 StatusDetails: name = 1, group = 2, kind = 3, causes = 4, retryAfterSeconds = 5, uid = 6;
    // StatusCause: reason = 1, message = 2, field = 3.
    StatusCause: { fields: { reason: { type: 'string', id: 1 }, message: { type: 'string', id: 2 }, field: { type: 'string', id: 3 } } },
    StatusDetails: {
      fields: {
        name: { type: 'string', id: 1 }, group: { type: 'string', id: 2 }, kind: { type: 'string', id: 3 },
        causes: { rule: 'repeated', type: 'StatusCause', id: 4 }, retryAfterSeconds: { type: 'int32', id: 5 }, uid: { type: 'string', id: 6 },
      },
    },
    // meta/v1 Status: status = 2, message = 3, reason = 4, details = 5, code = 6.
    Status: {
      fields: {
        status: { type: 'string', id: 2 }, message: { type: 'string', id: 3 }, reason: { type: 'string', id: 4 },
        details: { type: 'StatusDetails', id: 5 }, code: { type: 'int32', id: 6 },
      },
    },
    // runtime.Unknown: raw = 2, declared as what it holds.
    NodeListBody: { fields: { raw: { type: 'NodeList', id: 2 } } },
    PodListBody: { fields: { raw: { type: 'PodList', id: 2 } } },
    ListHeadBody: { fields: { raw: { type: 'ListHead', id: 2 } } },
    // runtime.TypeMeta: apiVersion = 1, kind = 2; runtime.Unknown: typeMeta = 1.
    TypeMeta: { fields: { apiVersion: { type: 'string', id: 1 }, kind: { type: 'string', id: 2 } } },
    StatusBody: { fields: { typeMeta: { type: 'TypeMeta', id: 1 }, raw: { type: 'Status', id: 2 } } },
  },
});

// The decoded messages, as far as the schema above declares them. protobufjs leaves a field
// that was not on the wire to its prototype's default ('' / false / an empty array / null).
interface Entry<V> { readonly key: string; readonly value: V | null }
interface Meta { readonly name: string; readonly namespace: string; readonly labels: readonly Entry<string>[]; readonly annotations: readonly Entry<string>[] }
interface Quantity { readonly string: string }
interface NodeMessage {
  readonly metadata: Meta | null;
  readonly spec: { readonly unschedulable: boolean } | null;
  readonly status: { readonly capacity: readonly Entry<Quantity>[]; readonly allocatable: readonly Entry<Quantity>[]; readonly conditions: readonly { readonly type: string; readonly status: string }[] } | null;
}
interface ContainerMessage {
  readonly resources: { readonly limits: readonly Entry<Quantity>[]; readonly requests: readonly Entry<Quantity>[] } | null;
  readonly restartPolicy: string;
}
interface PodMessage {
  readonly metadata: Meta | null;
  readonly spec: { readonly containers: readonly ContainerMessage[]; readonly initContainers: readonly ContainerMessage[]; readonly nodeName: string } | null;
  readonly status: { readonly phase: string } | null;
}
interface StatusMessage {
  readonly status: string; readonly message: string; readonly reason: string; readonly code: number;
  readonly details: { readonly name: string; readonly group: string; readonly kind: string; readonly uid: string; readonly retryAfterSeconds: number;
    readonly causes: readonly { readonly reason: string; readonly message: string; readonly field: string }[] } | null;
}

/** The Unknown after the magic; an Error when the body does not start with it. */
function envelope(body: Uint8Array): Uint8Array {
  if (body.length < MAGIC.length || MAGIC.some((b, i) => body[i] !== b)) throw new Error('the API server\'s protobuf answer does not start with k8s\\0');
  return body.subarray(MAGIC.length);
}

interface Unknown<T> { readonly typeMeta: { readonly apiVersion: string; readonly kind: string } | null; readonly raw: T | null }
const unknown = <T>(type: string, body: Uint8Array): Unknown<T> => ROOT.lookupType(type).decode(envelope(body)) as unknown as Unknown<T>;
const decode = <T>(type: string, body: Uint8Array): T | null => unknown<T>(type, body).raw;

// The JSON the API server writes leaves out empty strings, false and empty maps (`omitempty`);
// protobuf writes them. These give back what JSON has, where the model tells the two apart.
const text = (s: string): string | undefined => (s === '' ? undefined : s);
const own = <V, O>(list: readonly Entry<V>[], value: (v: V | null) => O): Record<string, O> | undefined =>
  (list.length === 0 ? undefined : Object.fromEntries(list.map((e) => [e.key, value(e.value)])));
const strings = (list: readonly Entry<string>[]) => own(list, (v) => v ?? '');
const quantities = (list: readonly Entry<Quantity>[]) => own(list, (q) => q?.string ?? '');
const meta = (m: Meta | null) =>
  (m ? { name: text(m.name), namespace: text(m.namespace), labels: strings(m.labels), annotations: strings(m.annotations) } : undefined);

/** A Node message as the fields of its JSON that toClusterNode reads. */
function nodeObject(n: NodeMessage): unknown {
  return {
    metadata: meta(n.metadata),
    spec: n.spec ? { unschedulable: n.spec.unschedulable || undefined } : undefined,
    status: n.status
      ? { capacity: quantities(n.status.capacity), allocatable: quantities(n.status.allocatable), conditions: n.status.conditions.map((c) => ({ type: c.type, status: c.status })) }
      : undefined,
  };
}

const container = (c: ContainerMessage) => ({
  // A pointer in the Go type: on the wire only when set, and then in the JSON even when empty.
  ...(Object.hasOwn(c, 'restartPolicy') ? { restartPolicy: c.restartPolicy } : {}),
  resources: c.resources ? { limits: quantities(c.resources.limits), requests: quantities(c.resources.requests) } : undefined,
});

/** A Pod message as the fields of its JSON that toClusterPod reads. */
function podObject(p: PodMessage): unknown {
  return {
    metadata: meta(p.metadata),
    spec: p.spec ? { nodeName: text(p.spec.nodeName), initContainers: p.spec.initContainers.map(container), containers: p.spec.containers.map(container) } : undefined,
    status: p.status ? { phase: text(p.status.phase) } : undefined,
  };
}

/** How a collection's protobuf pages are read: its continue token, and its items as the JSON fields the model reads. */
export interface ProtobufList {
  /** The continue token of a page, read from the List's metadata alone (the items skipped), or undefined on the last page. */
  token(body: Uint8Array): string | undefined;
  items(body: Uint8Array): unknown[];
  /** An error answer's Status as the JSON text the API server writes for it (statusJson). */
  status(body: Uint8Array): string;
}

const token = (body: Uint8Array): string | undefined => text(decode<{ metadata: { continue: string } | null }>('ListHeadBody', body)?.metadata?.continue ?? '');

export const NODE_LIST: ProtobufList = {
  token, status: statusJson,
  items: (body) => (decode<{ items: readonly NodeMessage[] }>('NodeListBody', body)?.items ?? []).map(nodeObject),
};

export const POD_LIST: ProtobufList = {
  token, status: statusJson,
  items: (body) => (decode<{ items: readonly PodMessage[] }>('PodListBody', body)?.items ?? []).map(podObject),
};

/**
 * A Status (an error answer) in protobuf as the JSON text the API server writes for it, so the
 * ApiException's body reads as with a JSON request. Its list metadata (not declared: an error's
 * is empty) as `{}`.
 */
export function statusJson(body: Uint8Array): string {
  const { typeMeta, raw: s } = unknown<StatusMessage>('StatusBody', body);
  const d = s?.details;
  const details = d ? {
    name: text(d.name), group: text(d.group), kind: text(d.kind), uid: text(d.uid),
    causes: d.causes.length ? d.causes.map((c) => ({ reason: text(c.reason), message: text(c.message), field: text(c.field) })) : undefined,
    retryAfterSeconds: d.retryAfterSeconds || undefined,
  } : undefined;
  return JSON.stringify({
    kind: text(typeMeta?.kind ?? ''), apiVersion: text(typeMeta?.apiVersion ?? ''), metadata: {},
    status: text(s?.status ?? ''), message: text(s?.message ?? ''), reason: text(s?.reason ?? ''), details, code: s?.code || undefined,
  });
}
