"""Does a template fit the model it will train? (Source document §7-8: SFT from the Base model, in
the base model's own format.)"""

from __future__ import annotations

import re
from typing import Any

from domaintune.templates.registry import get_template

# Names of fine-tuned chat checkpoints: Qwen2.5-7B-Instruct, Llama-2-7b-chat-hf, gemma-2b-it ...
_CHAT_NAME = re.compile(r"(chat|instruct|(^|[-_])it($|[-_])|sft|rlhf|dpo)", re.IGNORECASE)
_PROBES = [
    [{"role": "user", "content": "U"}, {"role": "assistant", "content": "A"}],
    [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "U"},
        {"role": "assistant", "content": "A"},
    ],
]


def looks_like_chat_model(name: str, config: Any = None) -> bool:
    """A chat/instruct checkpoint, judged from its name or its config's recorded name."""
    names = [name, getattr(config, "_name_or_path", "") or "", getattr(config, "name_or_path", "")]
    return any(_CHAT_NAME.search(n.rstrip("/").split("/")[-1]) for n in names if n)


def missing_tokens(tokenizer: Any, template: str) -> list[str]:
    """Control tokens the template writes that the tokenizer does not have as single tokens."""
    t = get_template(template)
    vocab = tokenizer.get_vocab()
    return [
        s
        for s in t.specials(tokenizer.bos_token or "", tokenizer.eos_token or "")
        if s not in vocab
    ]


def template_warnings(
    tokenizer: Any, model_name: str, template: str | None, config: Any = None
) -> list[str]:
    """What to tell the user before SFT with `template` on this model (empty: all is well)."""
    if template in (None, "hf"):
        return []
    missing = missing_tokens(tokenizer, template)
    if missing:
        raise ValueError(
            f"template {template!r} writes control tokens this tokenizer lacks: {missing}. SFT a "
            "base model in a format it can spell: template 'plain' or 'alpaca', the model "
            "family's own template, or add the tokens first (tokenizer expand, with embedding "
            "training)"
        )
    own = getattr(tokenizer, "chat_template", None)
    if not own or not looks_like_chat_model(model_name, config):
        return []
    from domaintune.templates import render_text

    try:
        same = all(
            render_text(tokenizer, p) == render_text(tokenizer, p, template=template)
            for p in _PROBES
        )
    except Exception:  # the model's own template may refuse a probe (e.g. no system role)
        same = False
    if same:
        return []
    return [
        f"{model_name} looks like a chat model and its own chat template differs from "
        f"{template!r}. Fine-tuning a chat model in another format fights its alignment; SFT "
        "the Base model instead (source document §7), or keep the chat model's own template "
        "(template: hf)."
    ]
