import { createCoordinatorClient, watchWorkflow, WorkflowState } from "./index.js";

/** Submits a two-step workflow, follows it live, and returns its final state. */
export async function example(baseUrl: string, token?: string): Promise<{ state: string; events: number }> {
  const client = createCoordinatorClient(baseUrl, token ? { token } : {});
  const { workflowId } = await client.submitWorkflow({
    definition: {
      case: "yaml",
      value: `workflow:
  name: hello
  steps:
    - { id: fetch, runner: js, payload: "({ rows: [1, 2, 3] })" }
    - { id: sum, runner: js, depends_on: [fetch], payload: "input.fetch.rows.reduce((a, b) => a + b, 0)" }
`,
    },
  });
  // Reconnects by itself if the connection drops, resuming after the last cursor.
  let events = 0;
  for await (const msg of watchWorkflow(client, workflowId)) {
    if (msg.kind.case === "event") events++;
  }
  const { workflow } = await client.getWorkflow({ workflowId });
  return { state: WorkflowState[workflow!.state], events };
}
