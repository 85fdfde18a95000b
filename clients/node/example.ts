import { createCoordinatorClient, watchWorkflow, WorkflowState } from "horus-client-node";

/** Submits a two-step workflow with plain JSON inputs, follows it live, and returns its final state and outputs. */
export async function example(baseUrl: string, token?: string): Promise<{ state: string; events: number; outputs: Record<string, unknown> }> {
  const client = createCoordinatorClient(baseUrl, token ? { token } : {});
  const { workflowId } = await client.submitWorkflow({
    definition: {
      case: "yaml",
      value: `workflow:
  name: hello
  steps:
    - { id: fetch, runner: js, payload: "({ rows: [inputs.n, 2, 3], note: inputs.note })" }
    - { id: sum, runner: js, depends_on: [fetch], payload: "input.fetch.rows.reduce((a, b) => a + b, 0)" }
`,
    },
    // Inputs and outputs are plain JSON: no google.protobuf.Value in sight.
    inputs: { n: 21, note: null },
  });
  // Reconnects by itself if the connection drops, resuming after the last cursor.
  let events = 0;
  for await (const msg of watchWorkflow(client, workflowId)) {
    if (msg.kind.case === "event") events++;
  }
  const { workflow } = await client.getWorkflow({ workflowId });
  const outputs = Object.fromEntries(workflow!.steps.map((step) => [step.id, step.output]));
  return { state: WorkflowState[workflow!.state], events, outputs };
}
