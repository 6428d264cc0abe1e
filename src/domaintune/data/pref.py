"""Preference data: pair rows (DPO) and labelled completions (KTO), checked row by row, rendered
through the same chat templates the SFT stage uses.

Accepted row forms (JSONL, one object a line; `system` optional everywhere):
  explicit prompt   {"prompt": "q" | [messages up to the last user turn], "chosen", "rejected"}
  openai/sharegpt   {"messages"|"conversations": [... last user turn], "chosen", "rejected"}
                    (LLaMA-Factory's pair form: chosen/rejected are {"from": "gpt", "value"} turns)
  alpaca            {"instruction", "input"?, "chosen", "rejected"} (LLaMA-Factory)
  implicit prompt   {"chosen": [whole conversation], "rejected": [whole conversation]} (TRL):
                    both must share every turn before the last assistant reply
  KTO               any prompt form above + {"completion", "label": true|false} (TRL), or a
                    conversation ending in an assistant turn + "kto_tag" (LLaMA-Factory)
`chosen`/`rejected`/`completion` are strings, an assistant message, or a one-message list.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from domaintune.records import SHAREGPT_ROLES, DataError, RawRow, json_type

PathLike = str | os.PathLike[str]

# Control tokens checked in chosen/rejected text when no tokenizer is given: the BOS/EOS and
# turn markers of the families in templates/registry.py (a completion must not carry its own;
# the template writes exactly one end-of-turn token: TRL issue 4481, axolotl 1616).
COMMON_CONTROL = (
    "<s>",
    "</s>",
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|eot_id|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "[INST]",
    "[/INST]",
    "<|user|>",
    "<|assistant|>",
    "<|observation|>",
    "<reserved_106>",
    "<reserved_107>",
)

REASONS = (
    "invalid JSON",
    "wrong format",
    "missing field",
    "wrong type",
    "empty side",
    "identical",
    "prompt mismatch",
    "control token",
    "role order",
    "too long",
)


@dataclass
class PrefRow:
    """One preference example: a prompt (messages ending with a user turn) and its completions.

    Pairs (DPO) have `chosen` and `rejected`; KTO rows have `chosen` = the completion and
    `label` (True: desirable).
    """

    id: str
    prompt: list[dict[str, str]]  # system first if any, then user/assistant..., last is user
    chosen: str
    rejected: str | None = None
    label: bool | None = None

    def chosen_messages(self) -> list[dict[str, str]]:
        return [*self.prompt, {"role": "assistant", "content": self.chosen}]

    def rejected_messages(self) -> list[dict[str, str]]:
        return [*self.prompt, {"role": "assistant", "content": self.rejected or ""}]

    def to_dict(self) -> dict[str, Any]:
        """Our canonical form: openai messages + string completions."""
        row: dict[str, Any] = {"id": self.id, "messages": self.prompt, "chosen": self.chosen}
        if self.label is None:
            row["rejected"] = self.rejected
        else:
            row = {"id": self.id, "messages": self.prompt, "completion": self.chosen}
            row["label"] = self.label
        return row


def reason_of(err: DataError) -> str:
    """The short reason a PrefError carries (other DataErrors: by their message)."""
    reason = getattr(err, "reason", None)
    if reason:
        return reason
    msg = err.message
    if "JSON" in msg or "UTF-8" in msg:
        return "invalid JSON"
    return "wrong format" if "object" in msg else "other"


def _error(raw: RawRow, reason: str, message: str, field: str | None = None) -> DataError:
    err = raw.error(message, field)
    err.reason = reason  # type: ignore[attr-defined]
    return err


# ---------------------------------------------------------------- parsing


def _turns(raw: RawRow, value: Any, name: str) -> list[dict[str, str]]:
    """A list of openai or sharegpt turns -> openai messages (roles normalised)."""
    if not isinstance(value, list):
        raise _error(
            raw,
            "wrong type",
            f'field "{name}" must be an array of turns, got {json_type(value)}',
            name,
        )
    out = []
    for i, item in enumerate(value):
        out.append(_turn(raw, item, f"{name}[{i}]"))
    return out


def _turn(raw: RawRow, item: Any, name: str) -> dict[str, str]:
    if not isinstance(item, dict):
        raise _error(
            raw, "wrong type", f'field "{name}" must be an object, got {json_type(item)}', name
        )
    role_key, content_key = ("from", "value") if "from" in item else ("role", "content")
    role = SHAREGPT_ROLES.get(str(item.get(role_key, "")).lower())
    if role is None:
        raise _error(
            raw,
            "role order",
            f'field "{name}.{role_key}" is {item.get(role_key)!r}; '
            "expected system, user or assistant",
            name,
        )
    content = item.get(content_key)
    if not isinstance(content, str):
        raise _error(
            raw,
            "wrong type",
            f'field "{name}.{content_key}" must be a string, got {json_type(content)}',
            name,
        )
    return {"role": role, "content": content}


def _completion(raw: RawRow, value: Any, name: str) -> str:
    """A completion: a string, an assistant message, or a list holding one."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, dict):
        turn = _turn(raw, value, name)
        if turn["role"] != "assistant":
            raise _error(
                raw,
                "role order",
                f'field "{name}" is a {turn["role"]} turn; a completion is the assistant\'s reply',
                name,
            )
        value = turn["content"]
    if not isinstance(value, str):
        raise _error(
            raw,
            "wrong type",
            f'field "{name}" must be a string or an assistant message, got {json_type(value)}',
            name,
        )
    return value


def _prompt(raw: RawRow) -> list[dict[str, str]]:
    d = raw.data
    if "prompt" in d:
        p = d["prompt"]
        msgs = [{"role": "user", "content": p}] if isinstance(p, str) else _turns(raw, p, "prompt")
    elif "messages" in d or "conversations" in d:
        key = "messages" if "messages" in d else "conversations"
        msgs = _turns(raw, d[key], key)
    elif "instruction" in d:
        text = "\n".join(x for x in (d["instruction"], d.get("input") or "") if x)
        msgs = [{"role": "user", "content": text}]
    else:
        raise _error(
            raw,
            "wrong format",
            "no prompt: give prompt, messages, conversations or "
            f"instruction (or chosen/rejected as whole conversations); keys seen: "
            f"{sorted(d)}",
        )
    system = d.get("system")
    if system is not None:
        if not isinstance(system, str):
            raise _error(raw, "wrong type", 'field "system" must be a string', "system")
        if msgs and msgs[0]["role"] == "system":
            raise _error(raw, "role order", 'a system turn and "system" are both set; keep one')
        msgs = [{"role": "system", "content": system}, *msgs] if system else msgs
    return msgs


def _check_prompt_order(raw: RawRow, msgs: list[dict[str, str]], field: str) -> None:
    body = msgs[1:] if msgs and msgs[0]["role"] == "system" else msgs
    if not body:
        raise _error(raw, "empty side", f"the prompt ({field}) has no user turn", field)
    for i, m in enumerate(body):
        expected = "user" if i % 2 == 0 else "assistant"
        if m["role"] != expected:
            raise _error(
                raw,
                "role order",
                f"{field}: turn {i + 1} is {m['role']}, expected "
                f"{expected} (user/assistant alternate, the prompt ends with a user "
                "turn)",
                field,
            )
    if body[-1]["role"] != "user":
        raise _error(raw, "role order", f"{field}: the prompt must end with a user turn", field)


def _implicit(raw: RawRow) -> tuple[list[dict[str, str]], str, str]:
    """TRL's implicit prompt: chosen and rejected are whole conversations sharing the prompt."""
    chosen = _turns(raw, raw.data["chosen"], "chosen")
    rejected = _turns(raw, raw.data["rejected"], "rejected")
    for side, conv in (("chosen", chosen), ("rejected", rejected)):
        if not conv or conv[-1]["role"] != "assistant":
            raise _error(
                raw,
                "role order",
                f"{side}: a whole conversation must end with the assistant reply",
                side,
            )
    if chosen[:-1] != rejected[:-1]:
        n = next(
            (i for i, (a, b) in enumerate(zip(chosen, rejected, strict=False)) if a != b),
            min(len(chosen), len(rejected)) - 1,
        )
        raise _error(
            raw,
            "prompt mismatch",
            f"chosen and rejected differ before the last "
            f"assistant reply (turn {n + 1}); the two sides must share the prompt "
            "exactly",
            "chosen",
        )
    return chosen[:-1], chosen[-1]["content"], rejected[-1]["content"]


def parse_pref(raw: RawRow) -> PrefRow:
    """Parse one row in any accepted form (module docstring); DataError names line and field."""
    d = raw.data
    rid = str(d.get("id") or f"{raw.stem}-{raw.line}")
    label = d.get("label", d.get("kto_tag"))
    if "completion" in d or ("kto_tag" in d and "chosen" not in d):
        return _parse_kto(raw, rid, label)
    for key in ("chosen", "rejected"):
        if key not in d:
            raise _error(
                raw,
                "missing field",
                f'missing required field "{key}" (a pair needs '
                "chosen and rejected; KTO rows need completion and label)",
                key,
            )
    if (
        isinstance(d["chosen"], list)
        and len(d["chosen"]) > 1
        and not ({"prompt", "messages", "conversations", "instruction"} & set(d))
    ):
        prompt, chosen, rejected = _implicit(raw)
    else:
        prompt = _prompt(raw)
        chosen = _completion(raw, d["chosen"], "chosen")
        rejected = _completion(raw, d["rejected"], "rejected")
    _check_prompt_order(raw, prompt, "prompt")
    row = PrefRow(rid, prompt, chosen, rejected)
    _check_sides(raw, row)
    return row


def _parse_kto(raw: RawRow, rid: str, label: Any) -> PrefRow:
    if not isinstance(label, bool):
        raise _error(
            raw,
            "wrong type",
            f'field "label" must be true or false, got {json_type(label)}',
            "label",
        )
    d = raw.data
    if "completion" in d:
        prompt, completion = _prompt(raw), _completion(raw, d["completion"], "completion")
    else:  # LLaMA-Factory: the conversation ends with the judged assistant turn
        key = "messages" if "messages" in d else "conversations"
        conv = _turns(raw, d.get(key), key)
        if not conv or conv[-1]["role"] != "assistant":
            raise _error(
                raw,
                "role order",
                f"{key}: with kto_tag the conversation ends with the judged assistant turn",
                key,
            )
        prompt, completion = conv[:-1], conv[-1]["content"]
        if d.get("system"):
            prompt = [{"role": "system", "content": d["system"]}, *prompt]
    _check_prompt_order(raw, prompt, "prompt")
    row = PrefRow(rid, prompt, completion, None, label)
    _check_sides(raw, row)
    return row


def _check_sides(raw: RawRow, row: PrefRow) -> None:
    sides = (
        [("chosen", row.chosen)]
        if row.label is not None
        else [("chosen", row.chosen), ("rejected", row.rejected or "")]
    )
    name = "completion" if row.label is not None else None
    for side, text in sides:
        if not text.strip():
            raise _error(
                raw,
                "empty side",
                f"{name or side} is empty; a preference example needs text on each side",
                name or side,
            )
    if row.label is None and row.chosen.strip() == (row.rejected or "").strip():
        raise _error(
            raw,
            "identical",
            "chosen and rejected are identical: the pair teaches "
            "nothing; drop it or fix the rejected answer",
            "rejected",
        )


# ---------------------------------------------------------------- token-level checks


def control_tokens(tokenizer: Any = None, template: str | None = None) -> list[str]:
    """Control-token strings a completion must not contain (longest first)."""
    found = set(COMMON_CONTROL)
    if tokenizer is not None:
        found |= {t for t in getattr(tokenizer, "all_special_tokens", []) if t}
        added = getattr(tokenizer, "added_tokens_decoder", {}) or {}
        found |= {t.content for t in added.values() if getattr(t, "special", False)}
    if template not in (None, "hf"):
        from domaintune.templates import get_template

        t = get_template(template)
        bos, eos = (
            (getattr(tokenizer, "bos_token", "") or "", getattr(tokenizer, "eos_token", "") or "")
            if tokenizer is not None
            else t.family_tokens
        )
        found |= set(t.specials(bos, eos))
    return sorted((t for t in found if t.strip()), key=len, reverse=True)


def check_control(raw: RawRow, row: PrefRow, specials: Iterable[str]) -> None:
    """Reject a completion that writes its own BOS/EOS/turn tokens (the template adds them)."""
    sides = [("completion" if row.label is not None else "chosen", row.chosen)]
    if row.label is None:
        sides.append(("rejected", row.rejected or ""))
    for side, text in sides:
        for tok in specials:
            if tok in text:
                where = "ends with" if text.rstrip().endswith(tok) else "contains"
                raise _error(
                    raw,
                    "control token",
                    f"{side} {where} the control token {tok!r}; "
                    "the template adds the one end-of-turn token itself (a second one "
                    "teaches the model to stop twice): remove it from the text",
                    side,
                )


# ---------------------------------------------------------------- rendering


@dataclass
class Rendered:
    """Token ids of one example: prompt, then each completion up to its end-of-turn token."""

    prompt_ids: list[int]
    chosen_ids: list[int]
    rejected_ids: list[int] | None = None


def _trained_span(labels: list[int]) -> tuple[int, int]:
    from domaintune.templates import IGNORE_INDEX

    idx = [i for i, x in enumerate(labels) if x != IGNORE_INDEX]
    if not idx:
        raise ValueError("no trained token after templating")
    return idx[0], idx[-1] + 1


def render_pref(tokenizer: Any, row: PrefRow, *, template: str | None) -> Rendered:
    """prompt_ids + chosen_ids is the SFT stage's rendering of prompt + chosen (mask_history),
    up to and including the end-of-turn token (what follows it is never trained)."""
    from domaintune.templates import encode_conversation

    def enc(messages):
        e = encode_conversation(tokenizer, messages, template=template, mask_history=True)
        start, end = _trained_span(e["labels"])
        return e["input_ids"][:end], start

    chosen, c_start = enc(row.chosen_messages())
    if row.rejected is None:
        return Rendered(chosen[:c_start], chosen[c_start:])
    rejected, r_start = enc(row.rejected_messages())
    # A BPE token may join the prompt's end and the answer's start: the prompt is what both
    # renderings share before either answer begins.
    n = min(c_start, r_start)
    n = next((i for i in range(n) if chosen[i] != rejected[i]), n)
    return Rendered(chosen[:n], chosen[n:], rejected[n:])


def length_problem(r: Rendered, max_len: int) -> str | None:
    """Why an example is empty after truncation to max_len (None: it keeps a completion)."""
    if len(r.prompt_ids) >= max_len:
        return (
            f"the prompt alone is {len(r.prompt_ids)} tokens, at or over max_len {max_len}: "
            "every completion token would be truncated away; shorten the prompt or raise "
            "max_len"
        )
    return None
