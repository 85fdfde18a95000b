import { createCoordinatorClient, watchWorkflow, WorkflowState } from "horus-client-web";

/** In a page: submit a workflow, show each change (e.g. append to a <pre>), return the final state and the step's output. */
export async function example(baseUrl: string, show: (line: string) => void, protocol: "connect" | "grpc-web" = "connect"): Promise<{ state: string; output: unknown }> {
  const client = createCoordinatorClient(baseUrl, { protocol });
  const { workflowId } = await client.submitWorkflow({
    definition: { case: "yaml", value: "workflow:\n  name: from-the-browser\n  steps:\n    - { id: a, runner: js, payload: \"({ answer: inputs.x * 7 })\" }\n" },
    inputs: { x: 6 },
  });
  for await (const msg of watchWorkflow(client, workflowId)) {
    show(`${msg.cursor} ${msg.kind.case}`);
  }
  const { workflow } = await client.getWorkflow({ workflowId });
  return { state: WorkflowState[workflow!.state], output: workflow!.steps[0]!.output };
}
