// Submitting workflow files, for `horus run` (one file, then followed) and
// `horus submit` (one or several).
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { SubmitWorkflowRequestSchema, SubmitWorkflowResponse, SubmitWorkflowsResponse } from "../../gen/horus/coordinator/v1/coordinator_pb.js";
import { toValueMap } from "../common/json.js";
import { coordinatorClient, type CoordinatorClient } from "./client.js";
import { collectInputs, readDefinition } from "./workflow-files.js";

/** A SubmitWorkflow request, as RunWorkflow takes it too. */
export type Submission = MessageInitShape<typeof SubmitWorkflowRequestSchema>;

/** The inputs and idempotency key of a submission, as the commands' flags give them. */
export interface SubmitFlags {
  input: string[];
  inputs?: string;
  idempotencyKey?: string;
}

/** One file's submission, not sent yet, and a client to send it with. */
export async function submissionOf(coordinator: string, file: string, opts: SubmitFlags): Promise<{ client: CoordinatorClient; submit: Submission }> {
  const yaml = await readDefinition(file);
  const inputs = await collectInputs(opts.input, opts.inputs, yaml);
  return {
    client: coordinatorClient(coordinator),
    submit: { definition: { case: "yaml", value: yaml }, inputs: toValueMap(inputs), idempotencyKey: opts.idempotencyKey ?? "" },
  };
}

/** One file in one SubmitWorkflow call. */
export async function submitOne(coordinator: string, file: string, opts: SubmitFlags): Promise<{ client: CoordinatorClient; res: SubmitWorkflowResponse }> {
  const { client, submit } = await submissionOf(coordinator, file, opts);
  return { client, res: await client.submitWorkflow(submit) };
}

/**
 * Several files in one SubmitWorkflows call, each with the same inputs.
 * With an idempotency key, file n (from 1) is submitted under "KEY:n", so
 * running the same command again starts nothing new.
 */
export async function submitMany(coordinator: string, files: string[], opts: SubmitFlags): Promise<SubmitWorkflowsResponse> {
  const yamls = await Promise.all(files.map(readDefinition));
  const inputs = await Promise.all(yamls.map(async (yaml) => toValueMap(await collectInputs(opts.input, opts.inputs, yaml))));
  const client = coordinatorClient(coordinator);
  return client.submitWorkflows({
    workflows: yamls.map((yaml, i) => ({
      definition: { case: "yaml", value: yaml },
      inputs: inputs[i]!,
      idempotencyKey: opts.idempotencyKey ? `${opts.idempotencyKey}:${i + 1}` : "",
    })),
  });
}
