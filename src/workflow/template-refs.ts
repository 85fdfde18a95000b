// Template references of a definition, and the cycles they can close. A
// template that runs itself, directly or through other templates, would
// start children without end; registration rejects it where the cycle can
// be seen (W5), and the run-time depth limit (W4) bounds what it cannot see
// (a cycle closed by two registrations racing, or stored before this check).
import type { WorkflowDefinition } from "./definition.js";

export interface TemplateRef {
  /** The step that runs the template (in the definition, or in an inline sub-workflow of it). */
  stepId: string;
  /** Field path of the reference, e.g. `workflow.steps[2].workflow.template`. */
  field: string;
  template: string;
  /** Pinned version; undefined runs the latest. */
  version?: number;
}

/** Every template reference, inline sub-workflows included (they are validated to nest at most 8 deep). */
export function templateRefs(def: WorkflowDefinition, prefix = "workflow"): TemplateRef[] {
  const out: TemplateRef[] = [];
  const lists: Array<[string, WorkflowDefinition["steps"]]> = [[`${prefix}.steps`, def.steps], [`${prefix}.on_failure`, def.onFailure ?? []]];
  for (const [path, steps] of lists) {
    steps.forEach((s, i) => {
      const w = s.workflow;
      if (!w) return;
      if ("inline" in w) out.push(...templateRefs(w.inline, `${path}[${i}].workflow`));
      else out.push({ stepId: s.id, field: `${path}[${i}].workflow.template`, template: w.template, ...(w.version !== undefined ? { version: w.version } : {}) });
    });
  }
  return out;
}

export interface TemplateCycle {
  /** Where the new definition starts the cycle. */
  stepId: string;
  field: string;
  /** Template names from the one being registered back to it, e.g. ["cycB", "cycA", "cycB"]. */
  path: string[];
}

/**
 * Looks for a chain of references from a definition about to be
 * registered as `name` (its new version is `latest + 1`) back to `name`,
 * reading the other templates through `lookup` (version undefined: the
 * latest). Each template version is read once.
 */
export async function findTemplateCycle(
  name: string,
  definition: WorkflowDefinition,
  latest: number,
  lookup: (template: string, version: number | undefined) => Promise<WorkflowDefinition | undefined>,
): Promise<TemplateCycle | undefined> {
  const seen = new Set<string>();
  // Closes the cycle: the latest of `name` (the new version once registered), or the new version pinned.
  const isNew = (r: TemplateRef) => r.template === name && (r.version === undefined || r.version > latest);
  const walk = async (ref: TemplateRef, path: string[]): Promise<string[] | undefined> => {
    if (isNew(ref)) return [...path, name];
    const key = `${ref.template}@${ref.version ?? "latest"}`;
    if (seen.has(key)) return undefined;
    seen.add(key);
    const def = await lookup(ref.template, ref.version);
    if (!def) return undefined;
    for (const next of templateRefs(def)) {
      const found = await walk(next, [...path, ref.template]);
      if (found) return found;
    }
    return undefined;
  };
  for (const ref of templateRefs(definition)) {
    const path = await walk(ref, [name]);
    if (path) return { stepId: ref.stepId, field: ref.field, path };
  }
  return undefined;
}
