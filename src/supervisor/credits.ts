// Credit allocation for Link streams: how a supervisor shares the slots of
// one runner among the coordinators linked to it, so that together they do
// not send more jobs than it can run. A pure function of the runner's
// capacity, the jobs it holds, and each link's credit and demand; the I/O
// shell (link.ts) calls it whenever one of those changes and sends each link
// its new limit.
//
// The rules, in order:
// 1. Free slots are capacity - held jobs - credit already granted. Credit a
//    link holds beyond its demand (a pre-grant it does not use) is taken
//    back first when slots run short: when another link waits for slots, or
//    when jobs sent without credit (unary calls, older coordinators) filled
//    them.
// 2. Free slots go to links whose demand exceeds their credit, in equal
//    shares (water-filling), the remainder starting at a rotating link so
//    no link is always first.
// 3. When no link waits, an idle supervisor pre-grants each link up to a
//    fair share of the capacity (capacity / links), so a coordinator can
//    send the next hop of a chain at once instead of asking first; a link
//    above its share (it was alone) gives back to one below it.
// Credit backed by demand is never taken back: the coordinator may be
// sending against it right now.

/** One link's view of one runner. */
export interface LinkCreditView {
  /** Credit it holds now: its limit minus the jobs of this runner it sent. */
  outstanding: number;
  /** Jobs of this runner its coordinator says it waits to place here. */
  demand: number;
}

export interface RunnerCreditInput {
  /** Jobs the runner may run at once on this supervisor. */
  capacity: number;
  /** Jobs of this runner the supervisor holds (running and queued), whoever sent them. */
  held: number;
  /** Every open link, in a stable order. */
  links: readonly LinkCreditView[];
  /** Link to start from when slots do not divide evenly; the caller rotates it. */
  start?: number;
}

/** The credit each link should hold after this allocation (same order as `links`). */
export function allocateCredits(input: RunnerCreditInput): number[] {
  const n = input.links.length;
  if (n === 0) return [];
  const capacity = Math.max(0, Math.floor(input.capacity));
  const out = input.links.map((l) => Math.max(0, Math.floor(l.outstanding)));
  const demand = input.links.map((l) => Math.max(0, Math.floor(l.demand)));
  const start = (((input.start ?? 0) % n) + n) % n;
  const order = Array.from({ length: n }, (_, k) => (start + k) % n);
  let free = capacity - Math.max(0, input.held) - sum(out);
  const need = out.map((o, i) => Math.max(0, demand[i]! - o));
  const totalNeed = sum(need);

  // 1. Take back unused pre-grants where slots are short.
  // (with nobody waiting, only what over-fills the runner)
  const short = totalNeed - free;
  if (short > 0) {
    let left = short;
    for (const i of order) {
      if (left === 0) break;
      const spare = Math.max(0, out[i]! - demand[i]!);
      const take = Math.min(spare, left);
      out[i]! -= take;
      left -= take;
      free += take;
    }
  }
  if (totalNeed > 0) {
    if (free <= 0) return out;
    // 2. Water-fill the links that wait.
    let needy = order.filter((i) => need[i]! > 0);
    while (free > 0 && needy.length > 0) {
      const share = Math.max(1, Math.floor(free / needy.length));
      for (const i of needy) {
        if (free === 0) break;
        const give = Math.min(share, need[i]!, free);
        out[i]! += give;
        need[i]! -= give;
        free -= give;
      }
      needy = needy.filter((i) => need[i]! > 0);
    }
    return out;
  }

  // 3. Nobody waits: pre-grant a fair share each, taking back from links
  // above it (a link that was alone had everything) for links below it.
  const share = Math.floor(capacity / n);
  let below = 0;
  for (const o of out) below += Math.max(0, share - o);
  let want = below - Math.max(0, free);
  for (const i of order) {
    if (want <= 0) break;
    const take = Math.min(want, Math.max(0, out[i]! - Math.max(share, demand[i]!)));
    out[i]! -= take;
    want -= take;
    free += take;
  }
  for (const i of order) {
    if (free <= 0) break;
    const give = Math.min(free, Math.max(0, share - out[i]!));
    out[i]! += give;
    free -= give;
  }
  return out;
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}
