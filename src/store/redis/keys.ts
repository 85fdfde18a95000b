// The Redis key layout. Every key of one workflow carries the workflow id as
// its hash tag ({...}), so on Redis Cluster they live in one slot and one
// Lua script may touch them all. Cross-workflow keys (indexes, node leases)
// are separate and only ever written with single-key commands.
//
//   <p>:{<id>}           hash    the workflow: immutable record, header fields,
//                                one field per step, counters, owner, fence, seq
//   <p>:{<id>}:ev        stream  the event log; stream ids are the cursors
//   <p>:{<id>}:logs      stream  step log lines
//   <p>:{<id>}:logn      hash    log lines per step attempt, for the cap
//   <p>:idx:all          zset    every workflow id (score 0, ordered by id = by time)
//   <p>:idx:state:<n>    zset    ids by workflow state number
//   <p>:idx:name:<name>  zset    ids by workflow name
//   <p>:idx:active       zset    ids not yet finished: what coordinators must advance
//   <p>:idx:finished     zset    "<id>\n<name>" scored by finish time, for retention
//   <p>:owned:<node>     set     ids a coordinator node owns
//   <p>:nodes            zset    coordinator nodes scored by lease expiry (ms, Redis clock)
//   <p>:idem:<key>       string  workflow id for an idempotency key
//   <p>:tpl:{<name>}     hash    a template: "latest" version and "v:<n>" definitions
//   <p>:idx:templates    zset    template names
//   <p>:{sup}            hash    registered supervisors: name -> registration JSON (supervisors.ts)
//   <p>:{sup}:exp        zset    supervisor names scored by lease expiry (ms); same hash tag as {sup}
//   <p>:sched:{<name>}   hash    a cron schedule and its progress (schedules.ts)
//   <p>:idx:schedules    zset    schedule names
//   <p>:notify:<id>      channel "e" (events) or "l" (logs) when either grows
//   <p>:node:<node>      channel "<notice> <id>" to a node that lost a workflow

export interface Keys {
  workflow(id: string): string;
  events(id: string): string;
  logs(id: string): string;
  logCounts(id: string): string;
  all: string;
  state(state: number): string;
  name(name: string): string;
  active: string;
  finished: string;
  owned(node: string): string;
  nodes: string;
  idempotency(key: string): string;
  template(name: string): string;
  templates: string;
  schedule(name: string): string;
  schedules: string;
  supervisors: string;
  supervisorExpiries: string;
  channel(id: string): string;
  /** The channel pattern prefix, to tell our messages from others. */
  channelPrefix: string;
  nodeChannel(node: string): string;
}

export function keysFor(prefix: string): Keys {
  const wf = (id: string) => `${prefix}:{${id}}`;
  return {
    workflow: wf,
    events: (id) => `${wf(id)}:ev`,
    logs: (id) => `${wf(id)}:logs`,
    logCounts: (id) => `${wf(id)}:logn`,
    all: `${prefix}:idx:all`,
    state: (state) => `${prefix}:idx:state:${state}`,
    name: (name) => `${prefix}:idx:name:${name}`,
    active: `${prefix}:idx:active`,
    finished: `${prefix}:idx:finished`,
    owned: (node) => `${prefix}:owned:${node}`,
    nodes: `${prefix}:nodes`,
    idempotency: (key) => `${prefix}:idem:${key}`,
    template: (name) => `${prefix}:tpl:{${name}}`,
    templates: `${prefix}:idx:templates`,
    schedule: (name) => `${prefix}:sched:{${name}}`,
    schedules: `${prefix}:idx:schedules`,
    supervisors: `${prefix}:{sup}`,
    supervisorExpiries: `${prefix}:{sup}:exp`,
    channel: (id) => `${prefix}:notify:${id}`,
    channelPrefix: `${prefix}:notify:`,
    nodeChannel: (node) => `${prefix}:node:${node}`,
  };
}
