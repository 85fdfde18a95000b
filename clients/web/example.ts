import { createCoordinatorClient, watchWorkflow, WorkflowState } from "./index.js";

/** In a page: submit a workflow, show each change (e.g. append to a <pre>), return the final state. */
export async function example(baseUrl: string, show: (line: string) => void, protocol: "connect" | "grpc-web" = "connect"): Promise<string> {
  const client = createCoordinatorClient(baseUrl, { protocol });
  const { workflowId } = await client.submitWorkflow({
    definition: { case: "yaml", value: "workflow:\n  name: from-the-browser\n  steps:\n    - { id: a, runner: js, payload: \"6 * 7\" }\n" },
  });
  for await (const msg of watchWorkflow(client, workflowId)) {
    show(`${msg.cursor} ${msg.kind.case}`);
  }
  const { workflow } = await client.getWorkflow({ workflowId });
  return WorkflowState[workflow!.state];
}
