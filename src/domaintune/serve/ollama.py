"""Export for Ollama: the GGUF file and a Modelfile whose Go TEMPLATE is generated from our template
spec (templates/spec.py), with the training stop tokens and num_ctx from the model config.

Every piece of template text is written as a quoted Go string action (`{{ "<|im_start|>user\\n" }}`)
and the actions touch each other, so Go's whitespace trimming can never eat a newline of the format.
Ollama gives a template `.System` (the system messages joined) and `.Messages` (all of them); user
and assistant turns are rendered from `.Messages`, the system turn from `.System`.

Not expressible, refused with the reason: templates that merge the system prompt into a user turn
(llama2). Go templates cannot trim, so for templates that trim content (llama3) the output equals
ours only for messages without leading or trailing whitespace; the Modelfile says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from domaintune.serve.loading import ServeError

PROBES = [
    [{"role": "user", "content": "Hi there"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}],
    [{"role": "user", "content": "A?"}, {"role": "assistant", "content": "B."},
     {"role": "user", "content": "C?"}],
    [{"role": "system", "content": "S."}, {"role": "user", "content": "A?"},
     {"role": "assistant", "content": "B."}, {"role": "user", "content": "C?"}],
]  # fmt: skip


def identify_template(tokenizer: Any) -> str:
    """The registry template the model's chat_template renders like (on probe conversations)."""
    from domaintune.templates import TEMPLATES, chat_template_for, render_text

    own = getattr(tokenizer, "chat_template", None)
    if not own:
        raise ServeError("the model has no chat_template; pass --template NAME for Ollama")
    for name in TEMPLATES:
        if chat_template_for(name) == own:
            return name

    def renders(template: str | None) -> list[str] | None:
        try:
            return [render_text(tokenizer, m, template=template, add_generation_prompt=True)
                    for m in PROBES]  # fmt: skip
        except Exception:  # noqa: BLE001 (a template that refuses a probe does not match)
            return None

    target = renders(None)
    for name in TEMPLATES:
        if renders(name) == target:
            return name
    raise ServeError(
        "the model's chat_template matches no registry template, so no Ollama TEMPLATE can be "
        "generated from it; pass --template NAME (domaintune template list)"
    )


def _lit(text: str) -> str:
    return "{{ " + json.dumps(text, ensure_ascii=False) + " }}" if text else ""


def go_template(name: str, *, bos: str = "", eos: str = "") -> str:
    """The Ollama (Go text/template) TEMPLATE for a registry template."""
    from domaintune.templates import get_template

    t = get_template(name)
    if t.system is None and t.system_merge is not None:
        raise ServeError(
            f"template {name!r} merges the system prompt into the first user turn, which this "
            "exporter does not write as a Go template; export --format gguf and write the "
            "Modelfile TEMPLATE by hand"
        )

    def fmt(spec: str, var: str) -> str:
        before, _, after = t.resolve(spec, bos, eos).partition("{content}")
        return _lit(before) + "{{ " + var + " }}" + _lit(after)

    parts = [_lit(t.resolve(t.prefix, bos, eos))]
    if t.system is not None:
        default = ""
        if t.default_system is not None:
            default = _lit(t.resolve(t.system, bos, eos).replace("{content}", t.default_system))
        parts.append("{{ if .System }}" + fmt(t.system, ".System")
                     + ("{{ else }}" + default if default else "") + "{{ end }}")  # fmt: skip
    gen = t.generation_prompt if t.generation_prompt is not None else t.assistant_prefix
    parts.append(
        "{{ range .Messages }}{{ if eq .Role \"user\" }}" + fmt(t.user, ".Content")
        + "{{ else if eq .Role \"assistant\" }}" + _lit(t.resolve(t.assistant_prefix, bos, eos))
        + "{{ .Content }}" + _lit(t.resolve(t.assistant_suffix + t.assistant_sep, bos, eos))
        + "{{ end }}{{ end }}"
    )  # fmt: skip
    parts.append(_lit(t.resolve(gen, bos, eos)))
    out = "".join(parts)
    if '"""' in out:
        raise ServeError(f"template {name!r} contains three quotes, which a Modelfile cannot hold")
    return out


def modelfile(gguf_name: str, template_name: str, tokenizer: Any, stop_ids: list[int],
              num_ctx: int) -> str:  # fmt: skip
    """The Modelfile text."""
    from domaintune.templates import get_template

    t = get_template(template_name)
    bos, eos = tokenizer.bos_token or "", tokenizer.eos_token or ""
    stops = [t.resolve(s, bos, eos) for s in t.stop_tokens]
    stops += tokenizer.convert_ids_to_tokens(list(stop_ids))
    lines = [f"# written by domaintune export --format ollama (template: {template_name})"]
    if t.strip:
        lines.append(
            f"# note: {template_name} trims {', '.join(t.strip)} text; this TEMPLATE "
            "does not (Go templates cannot): send messages without outer whitespace"
        )
    template = go_template(template_name, bos=bos, eos=eos)
    lines += [f"FROM ./{gguf_name}", f'TEMPLATE """{template}"""']
    unique = [s for s in dict.fromkeys(stops) if s]
    lines += [f"PARAMETER stop {json.dumps(s, ensure_ascii=False)}" for s in unique]
    lines.append(f"PARAMETER num_ctx {num_ctx}")
    return "\n".join(lines) + "\n"


def export_ollama(model_or_run: str | Path, out: str | Path, *, quant: str = "f16",
                  template: str | None = None) -> Path:  # fmt: skip
    """Write `out/model-<quant>.gguf` and `out/Modelfile` (`ollama create NAME -f Modelfile`)."""
    from transformers import AutoConfig, GenerationConfig

    from domaintune.io import atomic_write
    from domaintune.models import load_tokenizer
    from domaintune.serve.export_gguf import export_gguf
    from domaintune.serve.loading import base_of, is_adapter, resolve_model

    src = resolve_model(model_or_run)
    tokenizer = load_tokenizer(src)
    name = template or identify_template(tokenizer)
    go_template(name)  # refuse before the (longer) GGUF conversion
    out = Path(out)
    path = export_gguf(src, out, quant=quant)
    config = AutoConfig.from_pretrained(str(base_of(src) if is_adapter(src) else src))
    has_gen = (src / "generation_config.json").exists()
    gen = GenerationConfig.from_pretrained(str(src)) if has_gen else None
    eos = getattr(gen, "eos_token_id", None) or tokenizer.eos_token_id
    stop_ids = [eos] if isinstance(eos, int) else list(eos or [])
    text = modelfile(path.name, name, tokenizer, stop_ids, config.max_position_embeddings)
    with atomic_write(out / "Modelfile") as f:
        f.write(text)
    return out / "Modelfile"
