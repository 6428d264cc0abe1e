"""A registry template as a Jinja `chat_template`, saved with the trained model for inference.

The Jinja renders the same text as `render_pieces` (a test checks this for every template), so what
the model was trained on is what `apply_chat_template` gives it at inference.
"""

from __future__ import annotations

import json

from domaintune.templates.spec import Template


def _lit(text: str) -> str:
    """A Jinja expression for a format string: literals, {bos}, {eos} (not {content})."""
    parts = []
    for i, chunk in enumerate(
        text.replace("{eos}", "\0eos\0").replace("{bos}", "\0bos\0").split("\0")
    ):
        if i % 2:
            parts.append(f"{chunk}_token")
        elif chunk:
            parts.append(json.dumps(chunk))
    return " ~ ".join(parts) or '""'


def _with(fmt: str, expr: str) -> str:
    """A format string with {content} replaced by a Jinja expression."""
    before, _, after = fmt.partition("{content}")
    parts = [p for p in (_lit(before) if before else "", expr, _lit(after) if after else "") if p]
    return " ~ ".join(f"({p})" for p in parts)


def _content(t: Template, role: str, var: str = "message['content']") -> str:
    return f"{var} | trim" if role in t.strip else var


def _user(t: Template) -> str:
    plain = f"{{{{- {_with(t.user, _content(t, 'user'))} -}}}}"
    if t.system is not None or t.system_merge is None:
        return plain
    head, _, tail = t.system_merge.partition("{system}")
    merged = _with(tail, "message['content']")
    merged = f"{_lit(head)} ~ system ~ {merged}" if head else f"system ~ {merged}"
    merged = f"({merged}) | trim" if "user" in t.strip else merged
    at = "loop.index0 == ns.first_user" if t.merge_into == "first" else "loop.last"
    return (
        f"{{%- if {at} and system is not none -%}}"
        f"{{{{- {_with(t.user, merged)} -}}}}"
        f"{{%- else -%}}{plain}{{%- endif -%}}"
    )


def _assistant_body(t: Template) -> str:
    if not t.think:
        return f"{{{{- {_content(t, 'assistant')} -}}}}"
    return (
        "{%- set content = message['content'] -%}{%- set reasoning = '' -%}"
        "{%- if '</think>' in content -%}"
        "{%- set reasoning = content.split('</think>')[0].rstrip('\\n')"
        ".split('<think>')[-1].lstrip('\\n') -%}"
        "{%- set content = content.split('</think>')[-1].lstrip('\\n') -%}{%- endif -%}"
        "{%- if loop.index0 > ns.last_query and (loop.last or reasoning) -%}"
        "{{- '<think>\\n' ~ reasoning.strip('\\n') ~ '\\n</think>\\n\\n'"
        " ~ content.lstrip('\\n') -}}"
        "{%- else -%}{{- content -}}{%- endif -%}"
    )


def to_jinja(t: Template) -> str:
    """The template as a transformers-compatible Jinja chat_template."""
    default = json.dumps(t.default_system) if t.default_system is not None else "none"
    gen = t.generation_prompt if t.generation_prompt is not None else t.assistant_prefix
    out = [
        "{%- if messages and messages[0]['role'] == 'system' -%}",
        "{%- set system = messages[0]['content'] -%}{%- set loop_messages = messages[1:] -%}",
        f"{{%- else -%}}{{%- set system = {default} -%}}{{%- set loop_messages = messages -%}}",
        "{%- endif -%}",
        "{%- set ns = namespace(first_user=-1, last_query=-1) -%}",
        "{%- for message in loop_messages -%}{%- if message['role'] == 'user' -%}",
        "{%- if ns.first_user < 0 -%}{%- set ns.first_user = loop.index0 -%}{%- endif -%}",
        "{%- set ns.last_query = loop.index0 -%}{%- endif -%}{%- endfor -%}",
    ]
    if t.prefix:
        out.append(f"{{{{- {_lit(t.prefix)} -}}}}")
    if t.system is not None:
        system = "system | trim" if "system" in t.strip else "system"
        out.append(
            f"{{%- if system is not none -%}}{{{{- {_with(t.system, system)} -}}}}{{%- endif -%}}"
        )
    elif t.system_merge is None:
        out.append(
            "{%- if system is not none -%}"
            "{{- raise_exception('this template has no place for a system prompt') -}}"
            "{%- endif -%}"
        )
    out += [
        "{%- for message in loop_messages -%}",
        "{%- if message['role'] == 'user' -%}" + _user(t),
        "{%- elif message['role'] == 'assistant' -%}",
        f"{{{{- {_lit(t.assistant_prefix)} -}}}}" if t.assistant_prefix else "",
        _assistant_body(t),
        f"{{{{- {_lit(t.assistant_suffix + t.assistant_sep)} -}}}}"
        if t.assistant_suffix + t.assistant_sep
        else "",
        "{%- else -%}{{- raise_exception('roles must be system (first), user or assistant') -}}",
        "{%- endif -%}{%- endfor -%}",
        f"{{%- if add_generation_prompt -%}}{{{{- {_lit(gen)} -}}}}",
    ]
    if t.think:
        out.append(
            "{%- if enable_thinking is defined and enable_thinking is false -%}"
            "{{- '<think>\\n\\n</think>\\n\\n' -}}{%- endif -%}"
        )
    out.append("{%- endif -%}")
    return "".join(out)
