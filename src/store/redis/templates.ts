// Workflow templates: one hash per template (its versions, the latest
// version and its content key; record-codec.ts TPL) and an index of names.
// A new version is one script on the template's hash, so two identical
// registrations at once make one version.
import { templateContentKey, type Store, type TemplateRecord } from "../store.js";
import { putTemplateCall } from "./calls.js";
import { unavailable, type StoreContext } from "./context.js";
import { TPL, templateVersionField } from "./record-codec.js";
import { runScript } from "./scripts.js";

/** What each version's field holds. */
interface StoredVersion {
  definition: TemplateRecord["definition"];
  createdAt: number;
}

export function createTemplates(ctx: StoreContext): Pick<Store, "putTemplate" | "getTemplate" | "listTemplates"> {
  const { client, keys: k } = ctx;

  async function getTemplate(name: string, version?: number): Promise<TemplateRecord | undefined> {
    const v = version || Number(await client.hget(k.template(name), TPL.latest).catch(unavailable));
    if (!v) return undefined;
    const json = await client.hget(k.template(name), templateVersionField(v)).catch(unavailable);
    if (json === null) return undefined;
    const { definition, createdAt } = JSON.parse(json) as StoredVersion;
    return { name, version: v, definition, createdAt };
  }

  return {
    async putTemplate(name, definition, createdAt) {
      const stored: StoredVersion = { definition, createdAt };
      const call = putTemplateCall({ keys: k, name, json: JSON.stringify(stored), contentKey: templateContentKey(definition) });
      const reply = await runScript(client, call).catch(unavailable);
      await client.zadd(k.templates, 0, name).catch(unavailable);
      if (reply.kind === "existing") {
        const was = JSON.parse(reply.json) as StoredVersion;
        return { name, version: reply.version, definition: was.definition, createdAt: was.createdAt, existing: true };
      }
      return { name, version: reply.version, definition, createdAt, existing: false };
    },

    getTemplate,

    async listTemplates() {
      const names = await client.zrange(k.templates, "0", "-1").catch(unavailable);
      const all = await Promise.all(names.map((n) => getTemplate(n)));
      return all.filter((t): t is TemplateRecord => t !== undefined);
    },
  };
}
