// The templates page: every template (ListWorkflowTemplates) and, for the one
// chosen, any of its versions' definitions (GetWorkflowTemplate) as YAML.
import { ConnectError } from "@connectrpc/connect";
import type { CoordinatorClient } from "horus-client-web";
import { definitionYaml } from "./definition.js";
import { $, el } from "./dom.js";
import { ms } from "./model.js";
import type { Page } from "./pages.js";

export function templatesPage(client: CoordinatorClient): Page {
  async function list(chosen: string | undefined): Promise<void> {
    try {
      const { templates } = await client.listWorkflowTemplates({});
      $("templates").replaceChildren(
        ...templates.map((t) => {
          const li = el("li");
          li.dataset.name = t.name;
          if (t.name === chosen) li.classList.add("current");
          const created = ms(t.createdAt);
          li.append(el("span", t.name, "name"), el("span", `v${t.version}`, "version"), el("span", created ? new Date(created).toLocaleString() : "", "when"));
          li.addEventListener("click", () => (location.hash = `#/templates/${encodeURIComponent(t.name)}`));
          return li;
        }),
      );
      if (templates.length === 0) $("templates").append(el("li", "No templates yet: horus template register NAME FILE", "hint"));
    } catch (err) {
      $("template-error").textContent = ConnectError.from(err).rawMessage;
    }
  }

  async function open(name: string, version: number): Promise<void> {
    $("template-error").textContent = "";
    try {
      const { template } = await client.getWorkflowTemplate({ name, version });
      if (!template) return;
      $("template-name").textContent = template.name;
      const select = $<HTMLSelectElement>("template-version");
      const latest = version === 0 ? template.version : Math.max(template.version, select.options.length);
      select.replaceChildren(
        ...Array.from({ length: latest }, (_, i) => {
          const o = el("option", `version ${latest - i}`) as HTMLOptionElement;
          o.value = String(latest - i);
          return o;
        }),
      );
      select.value = String(template.version);
      select.onchange = () => void open(name, Number(select.value));
      const created = ms(template.createdAt);
      $("template-created").textContent = created ? `registered ${new Date(created).toLocaleString()}` : "";
      $("template-yaml").textContent = template.spec ? definitionYaml(template.spec) : "";
      $("template").hidden = false;
    } catch (err) {
      $("template-error").textContent = ConnectError.from(err).rawMessage;
    }
  }

  return {
    show(args) {
      const name = args[0] || undefined;
      void list(name);
      if (name) void open(name, 0);
      else $("template").hidden = true;
    },
  };
}
