// The targets of issue 17 ("Dispatch v2"), each checked against one run's
// figures, side by side with BullMQ's. Pure: figures in, rows out.
import type { Latency } from "./stats.js";

export type Mode = "embedded" | "redis";

/** What a target is checked on. */
export interface TargetInput {
  horus: Partial<Record<Mode, Partial<HorusTargetFigures>>>;
  bullmq?: { wide: number; chain: number; many: number; chainHopMs: number; forEachMs: number; load?: Latency };
}

/** Horus's figures for the targets: BullMQ's shapes, plus what only Horus has. */
export interface HorusTargetFigures {
  wide: number;
  chain: number;
  many: number;
  chainHopMs: number;
  forEachMs: number;
  load?: Latency;
  /** Ends noticed on WatchWorkflows (no workflow followed): chain and for_each, ms. */
  listWatched: { chain: number; forEach: number };
  /** The chain followed with `latest_only`, ms. */
  latestWatched?: { chain: number };
  /** WatchWorkflows' terminal delivery to a separate client. */
  delivery?: Latency;
  /**
   * How much longer the chain ran followed than unwatched (created_at to
   * finished_at), from interleaved runs (bench/watching.ts): every event,
   * and `latest_only`. Preferred to the shapes' 3-run medians.
   */
  watching?: { every: number; latest: number };
}

/** What a spec reads a figure from: either system's, any of them missing. */
type Figure = Partial<NonNullable<TargetInput["bullmq"]> & HorusTargetFigures>;

export interface TargetRow {
  shape: string;
  mode: Mode;
  /** Horus's figure, in `unit`. */
  horus?: number;
  /** BullMQ's figure for the same shape, in `unit`. */
  bullmq?: number;
  unit: "ms" | "steps/s" | "x";
  /** What the target reads, e.g. "<= 0.25 ms", ">= 2x BullMQ". */
  target: string;
  /** Undefined when a figure is missing. */
  met?: boolean;
}

interface Spec {
  shape: string;
  unit: TargetRow["unit"];
  /** The figure of one system. */
  figure(f: Figure): number | undefined;
  /** Per mode: an absolute bound (ms, at most or under) or a ratio to BullMQ (at least). */
  bound: Record<Mode, { atMost: number; strict?: boolean } | { timesBullmq: number }>;
}

/** The sizes; the bench's --quick sizes are smaller, and the labels say so. */
export interface TargetSizes { wide: number; chain: number; many: number; forEach: number }

const n = (x: number) => x.toLocaleString("en-US");

const specs = (size: TargetSizes): Spec[] => [
  { shape: "chain, time per hop", unit: "ms", figure: (f) => f.chainHopMs, bound: { embedded: { atMost: 0.25 }, redis: { atMost: 1.0 } } },
  { shape: `many (${n(size.many)} x 4)`, unit: "steps/s", figure: (f) => f.many, bound: { embedded: { timesBullmq: 2 }, redis: { timesBullmq: 1 } } },
  { shape: `wide (${n(size.wide)} + 1)`, unit: "steps/s", figure: (f) => f.wide, bound: { embedded: { timesBullmq: 2 }, redis: { timesBullmq: 1.5 } } },
  { shape: "dispatch p99 under wide load", unit: "ms", figure: (f) => f.load?.p99, bound: { embedded: { atMost: 20 }, redis: { atMost: 50 } } },
  // Horus: the end noticed on WatchWorkflows; following the workflow on WatchWorkflow (30,000 events) is the watched figure, printed apart.
  { shape: `for_each of ${n(size.forEach)} noop items`, unit: "ms", figure: (f) => f.listWatched?.forEach ?? f.forEachMs, bound: { embedded: { atMost: 2_000, strict: true }, redis: { atMost: 5_000, strict: true } } },
  // Cheap watching ("runs no more than 10% slower"): a chain followed on WatchWorkflow against the same chain
  // with its end noticed on WatchWorkflows; how long it ran, from the interleaved runs where there are some,
  // else the time to its end noticed, from the shapes' medians.
  { shape: `chain watched / unwatched`, unit: "x", figure: (f) => f.watching?.every ?? (f.listWatched && f.chainHopMs !== undefined ? (f.chainHopMs * size.chain) / f.listWatched.chain : undefined), bound: { embedded: { atMost: 1.1 }, redis: { atMost: 1.1 } } },
  // The same, followed as the dashboard does: each step's latest change only.
  { shape: `chain watched (latest only) / unwatched`, unit: "x", figure: (f) => f.watching?.latest ?? (f.listWatched && f.latestWatched ? f.latestWatched.chain / f.listWatched.chain : undefined), bound: { embedded: { atMost: 1.1 }, redis: { atMost: 1.1 } } },
  { shape: "WatchWorkflows end delivery p99", unit: "ms", figure: (f) => f.delivery?.p99, bound: { embedded: { atMost: 5 }, redis: { atMost: 5 } } },
];

const ok = (x: number | undefined): x is number => x !== undefined && !Number.isNaN(x);

/** One row per target and mode, in the order. */
export function targetRows(input: TargetInput, size: TargetSizes): TargetRow[] {
  const rows: TargetRow[] = [];
  for (const spec of specs(size)) {
    for (const mode of ["embedded", "redis"] as const) {
      const ours = input.horus[mode];
      const horus = ours ? spec.figure(ours) : undefined;
      const bullmq = input.bullmq ? spec.figure(input.bullmq) : undefined;
      const bound = spec.bound[mode];
      let target: string;
      let met: boolean | undefined;
      if ("atMost" in bound) {
        target = `${bound.strict ? "<" : "<="} ${bound.atMost} ${spec.unit}`;
        if (ok(horus)) met = bound.strict ? horus < bound.atMost : horus <= bound.atMost;
      } else {
        target = `>= ${bound.timesBullmq}x BullMQ`;
        if (ok(horus) && ok(bullmq)) met = horus >= bound.timesBullmq * bullmq;
      }
      rows.push({ shape: spec.shape, mode, horus, bullmq, unit: spec.unit, target, met });
    }
  }
  return rows;
}
