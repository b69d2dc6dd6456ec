// Least privilege on NATS: what each service and gateway of a mesh may publish and subscribe, derived from what the
// services declare (@rpc, @task, @event, calls, publishes, enqueues) and what each gateway is. It computes; nats-config.ts finds and writes.
import { REPORTS_SUBJECT } from '../observability/reports.ts';
import { cancelSubject } from '../wire/cancel.ts';
import { eventQueue } from '../service/event-host.ts';
import { SERVICE_STARTED_SUBJECT } from '../calling/announce.ts';
import type { Namespace } from '../wire/namespace.ts';
import { taskNames, WORKER_CONSUMER } from '../tasks/names.ts';

/**
 * What a gateway does on NATS (a gateway module says it as `export const natsRole`): a `caller` (the HTTP gateway)
 * calls procedures and asks `$SRV` discovery; a `router` (the WAMP gateway) also subscribes to topics, answers the
 * procedures its clients register in the mesh queue group, and answers `$SRV` discovery for them.
 */
export type NatsRole = 'caller' | 'router';

export interface ServiceMember {
  readonly kind: 'service';
  /** The service's name: its NATS user. */
  readonly name: string;
  /** Where it comes from, for the file's comments: `run services/greeting`. */
  readonly source: string;
  /** Its @rpc methods. */
  readonly procedures: readonly string[];
  /** Its @task methods: each an endpoint like a procedure, and a JetStream stream and consumer of its own. */
  readonly tasks: readonly string[];
  readonly events: readonly { readonly subject: string; readonly broadcast: boolean }[];
  readonly calls: readonly string[];
  readonly publishes: readonly string[];
  /** The tasks it enqueues (`<service>.<method>`). */
  readonly enqueues: readonly string[];
}

export interface GatewayMember {
  readonly kind: 'gateway';
  /** Its NATS user: the gateway folder's name, `gateway_http` for gateway-http. */
  readonly name: string;
  readonly source: string;
  readonly role: NatsRole;
}

export type MeshMember = ServiceMember | GatewayMember;

export interface Rights {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

/** One user of the nats-server configuration. */
export interface NatsUser {
  readonly user: string;
  /** The environment variable nats-server reads its password from. */
  readonly passwordVariable: string;
  /** The inbox prefix its process must connect with (`NATS_INBOX_PREFIX`): it may read no other inbox. */
  readonly inboxPrefix: string;
  /** What it is and does, for a comment above it. */
  readonly about: string;
  readonly publish: Rights;
  readonly subscribe: Rights;
  /** Whether it answers requests it took (any number of heartbeats and one reply each, for 10 minutes). */
  readonly answers: boolean;
}

/** The JetStream, KV, object store, system account and MQTT APIs: no mesh process has any business there. */
const NATS_APIS = ['$JS.>', '$KV.>', '$O.>', '$SYS.>', '$MQTT.>'];
/** The inboxes of connections with NATS's default prefix: a generated user's process never has one. */
const DEFAULT_INBOXES = '_INBOX.>';
/** The `$SRV` queries every micro service answers. */
const DISCOVERY = ['$SRV.PING', '$SRV.INFO', '$SRV.STATS'];

/** The inbox prefix a generated user connects with: `_INBOX_<user>`. */
function userInboxPrefix(user: string): string {
  return `_INBOX_${user}`;
}

/** The environment variable nats-server reads a user's password from: `NATS_GATEWAY_HTTP_PASSWORD` for gateway_http. */
function passwordVariableOf(user: string): string {
  return `NATS_${user.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_PASSWORD`;
}

/** The `$SRV` subjects addressed to one service by name (`$SRV.PING.<name>`, `$SRV.INFO.<name>.<id>`, ...). */
function discoveryOf(service: string): string[] {
  return [`$SRV.*.${service}`, `$SRV.*.${service}.*`];
}

const unique = (subjects: string[]): string[] => [...new Set(subjects)];
const listed = (names: readonly string[]): string => (names.length > 0 ? names.join(', ') : 'nothing');

/**
 * The JetStream subjects of a service's tasks (mesh/tasks/store.ts, worker.ts and state.ts use exactly these): for
 * each of its own tasks its work stream and the durable consumer `worker` (create and read them, pull, acknowledge,
 * read a message by sequence); the shared state bucket and dead-letter stream, created if missing but written
 * and read only under the service's own task ids (its endpoint answers the gateways' queue views and retries
 * from them), and the lifecycle events of its own tasks. For each task it enqueues: the task's subject and the reads of
 * its status. No other stream's messages, no other consumer, no delete, purge or update of a stream.
 */
function taskRights(service: ServiceMember, namespace: Namespace): { publish: string[]; subscribe: string[] } {
  const names = taskNames(namespace);
  const statusReads = (task: string) => [`$JS.API.DIRECT.GET.${names.stream(task)}`, `$JS.API.DIRECT.GET.${names.stateStream}.${names.stateSubject(`${task}.>`)}`];
  const own = service.tasks.map((method) => `${service.name}.${method}`);
  const publish = own.flatMap((task) => {
    const stream = names.stream(task);
    const consumer = `${stream}.${WORKER_CONSUMER}`;
    return [
      names.subject(task),
      `$JS.API.STREAM.INFO.${stream}`,
      `$JS.API.STREAM.CREATE.${stream}`,
      `$JS.API.CONSUMER.CREATE.${consumer}`,
      `$JS.API.CONSUMER.INFO.${consumer}`,
      `$JS.API.CONSUMER.MSG.NEXT.${consumer}`,
      `$JS.ACK.${consumer}.>`,
      `$JS.API.DIRECT.GET.${stream}`,
    ];
  });
  const subscribe: string[] = [];
  if (own.length > 0) {
    const mine = `${service.name}.>`;
    publish.push(
      ...[names.stateStream, names.deadStream].flatMap((stream) => [`$JS.API.STREAM.INFO.${stream}`, `$JS.API.STREAM.CREATE.${stream}`]),
      names.stateSubject(mine),
      `$JS.API.DIRECT.GET.${names.stateStream}.${names.stateSubject(mine)}`,
      names.deadSubject(mine),
      `$JS.API.DIRECT.GET.${names.deadStream}.${names.deadSubject(mine)}`,
      names.eventSubject(mine),
    );
    subscribe.push(names.stateSubject(mine));
  }
  for (const task of service.enqueues) {
    publish.push(names.subject(task), ...statusReads(task));
    subscribe.push(names.stateSubject(`${task}.>`));
  }
  return { publish, subscribe };
}

function serviceUser(service: ServiceMember, namespace: Namespace): NatsUser {
  const { name } = service;
  const inboxPrefix = userInboxPrefix(name);
  const tasks = taskRights(service, namespace);
  const procedures = [...service.procedures, ...service.tasks].map((method) => `${namespace.subject(`${name}.${method}`)} ${namespace.queue}`);
  const events = service.events.map(({ subject, broadcast }) => (broadcast ? namespace.subject(subject) : `${namespace.subject(subject)} ${namespace.subject(eventQueue(name))}`));
  return {
    user: name,
    passwordVariable: passwordVariableOf(name),
    inboxPrefix,
    about:
      `${name} (${service.source}): answers ${listed(service.procedures.map((m) => `${name}.${m}`))}; ` +
      `${service.tasks.length > 0 ? `runs the tasks ${listed(service.tasks.map((m) => `${name}.${m}`))}; ` : ''}handles ${listed(service.events.map((e) => e.subject))}; ` +
      `calls ${listed(service.calls)}; publishes ${listed(service.publishes)}${service.enqueues.length > 0 ? `; enqueues ${listed(service.enqueues)}` : ''}.`,
    publish: {
      // Its announcement, its own discovery (the fingerprint check, `mesh ping` as its health check), its reports,
      // and the cancels of the calls it makes.
      allow: unique([
        SERVICE_STARTED_SUBJECT,
        `$SRV.PING.${name}`,
        `$SRV.INFO.${name}`,
        namespace.subject(`${REPORTS_SUBJECT}.>`),
        ...service.calls.flatMap((c) => [namespace.subject(c), namespace.subject(cancelSubject(c))]),
        ...service.publishes.map((p) => namespace.subject(p)),
        ...tasks.publish,
      ]),
      deny: [],
    },
    subscribe: { allow: unique([...procedures, namespace.subject(cancelSubject(`${name}.>`)), ...events, ...tasks.subscribe, ...DISCOVERY, ...discoveryOf(name), `${inboxPrefix}.>`]), deny: [] },
    answers: true,
  };
}

function gatewayUser(gateway: GatewayMember, members: readonly MeshMember[], namespace: Namespace): NatsUser {
  const { name } = gateway;
  const inboxPrefix = userInboxPrefix(name);
  const others = members.filter((m) => m.name !== name).map((m) => `${userInboxPrefix(m.name)}.>`);
  const services = members.filter((m): m is ServiceMember => m.kind === 'service');
  // A gateway calls any procedure (a WAMP client may have registered it), so it publishes anything but NATS's own
  // APIs and inboxes; a reply goes only to a request it took (allow_responses).
  // Nor a task's subject: a task enqueued there would skip its endpoint's argument check (gateways enqueue
  // through the endpoint), and a subscriber there would read every task's arguments.
  const taskSubjects = [namespace.subject('tasks.>'), namespace.subject('tasks-dead.>')];
  const publishDeny = [...NATS_APIS, ...taskSubjects, DEFAULT_INBOXES, `${inboxPrefix}.>`, ...others];
  if (gateway.role === 'caller') {
    return {
      user: name,
      passwordVariable: passwordVariableOf(name),
      inboxPrefix,
      about: `${name} (${gateway.source}), a caller: requests to procedures and $SRV discovery; hears instances start.`,
      publish: { allow: ['>'], deny: [...publishDeny, SERVICE_STARTED_SUBJECT] },
      subscribe: { allow: [`${inboxPrefix}.>`, SERVICE_STARTED_SUBJECT], deny: [] },
      answers: false,
    };
  }
  return {
    user: name,
    passwordVariable: passwordVariableOf(name),
    inboxPrefix,
    about:
      `${name} (${gateway.source}), a router: a caller that also subscribes to any topic and answers procedures its ` +
      `clients register (queue group ${namespace.queue}, and its own groups under it for patterns), but never a service's procedure subject, event pool, $SRV ` +
      "subjects or reports, nor another user's inbox. The server filters those out of its wildcard subscriptions.",
    publish: { allow: ['>'], deny: publishDeny },
    subscribe: {
      // A plain `>` admits any queue group; with `> q` beside it a queue subscription must be in q, or in a pattern
      // registration's own group under it (`q.prefix.a.b`, gateway-wamp/uri.ts patternQueue).
      allow: ['>', `> ${namespace.queue}`, `> ${namespace.queue}.>`],
      deny: unique([
        ...NATS_APIS,
        ...taskSubjects,
        DEFAULT_INBOXES,
        ...others,
        ...services.flatMap((s) => [...[...s.procedures, ...s.tasks].map((m) => namespace.subject(`${s.name}.${m}`)), ...discoveryOf(s.name)]),
        namespace.subject(`${REPORTS_SUBJECT}.>`),
      ]),
    },
    answers: true,
  };
}

/** The users of a mesh, one per member, in the members' order. */
export function natsUsers(members: readonly MeshMember[], namespace: Namespace): NatsUser[] {
  return members.map((member) => (member.kind === 'service' ? serviceUser(member, namespace) : gatewayUser(member, members, namespace)));
}
