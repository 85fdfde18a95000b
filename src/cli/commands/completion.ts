// `horus completion bash|zsh`: a shell completion script generated from the
// program's own commands and options, so it never lists a command that is
// gone or misses a new one.
import { Argument, type Command } from "commander";

/** One command path (e.g. "template register") and what may follow it. */
export interface CompletionEntry {
  /** Words after `horus`, space-separated; "" for the top level. */
  path: string;
  /** Subcommand names. */
  commands: string[];
  /** Option flags (long and short). */
  options: string[];
}

/** Every command path of the program with its subcommands and options (global options at the top level). */
export function completionEntries(program: Command): CompletionEntry[] {
  const out: CompletionEntry[] = [];
  const walk = (cmd: Command, path: string) => {
    const visible = cmd.commands.filter((c) => c.name() !== "help");
    const options = cmd.options.flatMap((o) => [o.long, o.short].filter((f): f is string => typeof f === "string"));
    out.push({ path, commands: visible.map((c) => c.name()), options: [...options, "--help"] });
    for (const c of visible) walk(c, path ? `${path} ${c.name()}` : c.name());
  };
  walk(program, "");
  return out;
}

/** Shell words are command and flag names only (letters, digits, "-", "_", "."); anything else would need quoting. */
function shellWords(words: string[]): string {
  for (const w of words) if (!/^[A-Za-z0-9_.-]+$/.test(w)) throw new Error(`cannot complete "${w}"`);
  return words.join(" ");
}

export function bashScript(entries: CompletionEntry[]): string {
  const paths = entries.filter((e) => e.path !== "").map((e) => `"${e.path}"`).join("|");
  const cases = entries.map((e) => `    "${e.path}") cmds="${shellWords(e.commands)}" opts="${shellWords(e.options)}" ;;`).join("\n");
  return `# horus completion for bash. Load it with:  source <(horus completion bash)
# or save it as /etc/bash_completion.d/horus (or ~/.local/share/bash-completion/completions/horus).
_horus_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" next w i cmds="" opts=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -* ]] && continue
    if [[ -z $path ]]; then next="$w"; else next="$path $w"; fi
    case "$next" in
      ${paths || '""'}) path="$next" ;;
    esac
  done
  case "$path" in
${cases}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$cmds" -- "$cur"))
  fi
}
complete -o default -o bashdefault -F _horus_complete horus
`;
}

export function zshScript(entries: CompletionEntry[]): string {
  const paths = entries.filter((e) => e.path !== "").map((e) => `'${e.path}'`).join("|");
  const cases = entries.map((e) => `    '${e.path}') cmds=(${shellWords(e.commands)}); opts=(${shellWords(e.options)}) ;;`).join("\n");
  return `#compdef horus
# horus completion for zsh. Load it with:  source <(horus completion zsh)
# or save it as _horus in a directory of your $fpath.
_horus() {
  local path_="" next w
  local -a cmds opts
  for w in "\${(@)words[2,CURRENT-1]}"; do
    [[ $w == -* ]] && continue
    if [[ -z $path_ ]]; then next=$w; else next="$path_ $w"; fi
    case "$next" in
      ${paths || "''"}) path_=$next ;;
    esac
  done
  case "$path_" in
${cases}
  esac
  if [[ $PREFIX == -* ]]; then
    compadd -- $opts
  else
    compadd -- $cmds
    _files
  fi
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _horus "$@"
else
  compdef _horus horus
fi
`;
}

export function registerCompletion(program: Command): void {
  program
    .command("completion")
    .description("Print a shell completion script: `source <(horus completion bash)` (or zsh).")
    .addArgument(new Argument("<shell>", "bash or zsh").choices(["bash", "zsh"]))
    .action((shell: "bash" | "zsh") => {
      const entries = completionEntries(program);
      process.stdout.write(shell === "bash" ? bashScript(entries) : zshScript(entries));
    });
}
