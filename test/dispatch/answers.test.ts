// Table tests of what a supervisor's answer about an attempt means
// (src/dispatch/answers.ts): acknowledgements of a dispatch, and job events.
import { describe, expect, it } from "vitest";
import { onAck, onEvent, type AckDecision, type AckSituation, type EventDecision, type EventSituation } from "../../src/dispatch/answers.js";

describe("onAck: a supervisor answers a DispatchJobs call", () => {
  const table: Array<{ situation: string; given: AckSituation; expect: AckDecision }> = [
    { situation: "tracked, accepted: it runs there", given: { tracked: true, waiting: false, accepted: true, duplicate: false }, expect: { action: "accept", askState: false } },
    { situation: "tracked, accepted as a duplicate: it runs there, and may have finished long ago", given: { tracked: true, waiting: false, accepted: true, duplicate: true }, expect: { action: "accept", askState: true } },
    { situation: "tracked, refused: placed again", given: { tracked: true, waiting: false, accepted: false, duplicate: false }, expect: { action: "refuse", askState: false } },
    { situation: "tracked, refused, duplicate flag set: still a refusal, nothing to ask", given: { tracked: true, waiting: false, accepted: false, duplicate: true }, expect: { action: "refuse", askState: false } },
    { situation: "released meanwhile, still waiting, accepted: adopted there", given: { tracked: false, waiting: true, accepted: true, duplicate: false }, expect: { action: "adopt", askState: false } },
    { situation: "released meanwhile, still waiting, accepted as a duplicate: adopted, state asked", given: { tracked: false, waiting: true, accepted: true, duplicate: true }, expect: { action: "adopt", askState: true } },
    { situation: "released and sent elsewhere (or cancelled), accepted: this copy is stopped", given: { tracked: false, waiting: false, accepted: true, duplicate: false }, expect: { action: "stopCopy", askState: false } },
    { situation: "released and sent elsewhere, accepted as a duplicate: an earlier copy, left to whoever moved it", given: { tracked: false, waiting: false, accepted: true, duplicate: true }, expect: { action: "ignore", askState: false } },
    { situation: "released, refused: nothing runs there", given: { tracked: false, waiting: false, accepted: false, duplicate: false }, expect: { action: "ignore", askState: false } },
    { situation: "released, still waiting, refused: it just waits", given: { tracked: false, waiting: true, accepted: false, duplicate: false }, expect: { action: "ignore", askState: false } },
  ];
  for (const t of table) it(`${t.situation} -> ${t.expect.action}${t.expect.askState ? " + ask" : ""}`, () => expect(onAck(t.given)).toEqual(t.expect));
});

describe("onEvent: a job event arrives on a supervisor's stream", () => {
  const none: EventDecision = { skip: false, foundHere: false, confirm: false, finish: false };
  const table: Array<{ situation: string; given: EventSituation; expect: Partial<EventDecision> }> = [
    { situation: "tracked here, running", given: { owner: "here", maybeHere: false, uncertain: false, finished: false }, expect: {} },
    { situation: "tracked here, finished", given: { owner: "here", maybeHere: false, uncertain: false, finished: true }, expect: { finish: true } },
    { situation: "tracked here after a lost answer, it runs: confirmed", given: { owner: "here", maybeHere: false, uncertain: true, finished: false }, expect: { confirm: true } },
    { situation: "tracked here after a lost answer, it finished: finished (the end says it ran)", given: { owner: "here", maybeHere: false, uncertain: true, finished: true }, expect: { finish: true } },
    { situation: "placed here again after a lost-answer dispatch to it: tracked, not found a second time", given: { owner: "here", maybeHere: true, uncertain: false, finished: false }, expect: {} },
    { situation: "runs elsewhere: a stale copy's event is dropped", given: { owner: "elsewhere", maybeHere: true, uncertain: false, finished: false }, expect: { skip: true } },
    { situation: "runs elsewhere: a stale copy's end (its cancellation) is dropped", given: { owner: "elsewhere", maybeHere: false, uncertain: false, finished: true }, expect: { skip: true } },
    { situation: "tracked nowhere, a lost-answer dispatch here: found here", given: { owner: "none", maybeHere: true, uncertain: false, finished: false }, expect: { foundHere: true } },
    { situation: "tracked nowhere, a lost-answer dispatch here ended: found and finished", given: { owner: "none", maybeHere: true, uncertain: false, finished: true }, expect: { foundHere: true, finish: true } },
    { situation: "tracked nowhere, not looked for here: passed on", given: { owner: "none", maybeHere: false, uncertain: false, finished: false }, expect: {} },
    { situation: "tracked nowhere, finished (e.g. an attached attempt): passed on and forgotten", given: { owner: "none", maybeHere: false, uncertain: false, finished: true }, expect: { finish: true } },
  ];
  for (const t of table) it(t.situation, () => expect(onEvent(t.given)).toEqual({ ...none, ...t.expect }));
});
