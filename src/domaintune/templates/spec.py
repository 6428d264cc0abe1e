"""A chat template as data, and its rendering into pieces (template text vs message content).

`{content}` marks a message inside a format string; `{bos}` and `{eos}` are the tokenizer's own
tokens. The assistant turn is `assistant_prefix` (masked; what generation starts from),
the content and `assistant_suffix` (trained: the end-of-turn marker), then `assistant_sep` (masked).
"""

from __future__ import annotations

from dataclasses import dataclass

from domaintune.templates.render import Piece


@dataclass(frozen=True)
class Template:
    name: str
    description: str
    user: str
    assistant_prefix: str
    assistant_suffix: str
    assistant_sep: str = ""
    system: str | None = "{content}"  # a system turn's format; None: merged into first user turn
    system_merge: str | None = None  # system=None: how it joins a user message (None: no system)
    # Which user message a merged system joins: "first", or "last" = only when the conversation
    # ends with that user message (Mistral v0.3: a finished conversation keeps no system prompt).
    merge_into: str = "first"
    prefix: str = ""  # once, at the very start
    default_system: str | None = None  # used when the conversation has no system message
    generation_prompt: str | None = None  # default: assistant_prefix
    strip: tuple[str, ...] = ()  # roles whose content the family's template strips (`| trim`)
    special_tokens: tuple[str, ...] = ()  # control tokens the format strings write
    stop_tokens: tuple[str, ...] = ()
    train_eos: bool = False  # no end-of-turn token: training appends EOS after the last turn
    think: bool = False  # Qwen3: reasoning in <think> blocks, kept only after the last query
    reference: str = ""  # where the format comes from
    # The family's own BOS/EOS, used for {bos}/{eos} when no tokenizer is given (template render)
    family_tokens: tuple[str, str] = ("", "")

    def resolve(self, text: str, bos: str, eos: str) -> str:
        return text.replace("{bos}", bos or "").replace("{eos}", eos or "")

    def specials(self, bos: str, eos: str) -> list[str]:
        """The control tokens this template writes (train_eos: the EOS it appends too)."""
        names = [*self.special_tokens, *(["{eos}"] if self.train_eos else [])]
        return [self.resolve(t, bos, eos) for t in names if self.resolve(t, bos, eos)]


def _fmt(fmt: str, content: str, *, trained: bool = False) -> list[Piece]:
    """Split a format at {content}: template text around, the message as a content piece."""
    before, _, after = fmt.partition("{content}")
    pieces = [Piece(before, trained, False)] if before else []
    pieces.append(Piece(content, trained, True))
    return pieces + ([Piece(after, trained, False)] if after else [])


def _split_think(content: str) -> tuple[str, str]:
    """Qwen3: (reasoning, answer) from content that carries a <think>...</think> block."""
    if "</think>" not in content:
        return "", content
    reasoning = content.split("</think>")[0].rstrip("\n").split("<think>")[-1].lstrip("\n")
    return reasoning, content.split("</think>")[-1].lstrip("\n")


def _assistant(t: Template, i: int, msgs: list[dict], last_query: int) -> list[Piece]:
    content = msgs[i]["content"].strip() if "assistant" in t.strip else msgs[i]["content"]
    if not t.think:
        return [Piece(content, True, True)]
    reasoning, answer = _split_think(content)
    if i > last_query and (i == len(msgs) - 1 or reasoning):
        return [
            Piece("<think>\n", True, False),
            Piece(reasoning.strip("\n"), True, True),
            Piece("\n</think>\n\n", True, False),
            Piece(answer.lstrip("\n"), True, True),
        ]
    return [Piece(answer, True, True)]


def render_pieces(
    t: Template,
    messages: list[dict],
    *,
    bos: str = "",
    eos: str = "",
    add_generation_prompt: bool = False,
    mask_history: bool = False,
    for_training: bool = False,
) -> list[Piece]:
    """Pieces of the rendered conversation; `trained` marks what the loss covers."""
    msgs = list(messages)
    system = msgs.pop(0)["content"] if msgs and msgs[0]["role"] == "system" else t.default_system
    pieces: list[Piece] = [Piece(t.resolve(t.prefix, bos, eos), False, False)]
    if system is not None and t.system is not None:
        text = system.strip() if "system" in t.strip else system
        pieces += _fmt(t.resolve(t.system, bos, eos), text)
    elif system is not None and t.system_merge is None:
        raise ValueError(
            f"template {t.name!r} has no place for a system prompt; drop it or "
            "choose a template that has one"
        )
    assistants = [i for i, m in enumerate(msgs) if m["role"] == "assistant"]
    users = [i for i, m in enumerate(msgs) if m["role"] == "user"]
    last_query = users[-1] if users else -1
    for i, m in enumerate(msgs):
        if m["role"] == "system":
            raise ValueError("a system message must come first")
        if m["role"] == "user":
            merge_at = users[0] if t.merge_into == "first" else len(msgs) - 1
            pieces += _user(t, m["content"], system if i == merge_at else None, bos, eos)
            continue
        trained = not mask_history or i == assistants[-1]
        turn = [Piece(t.resolve(t.assistant_prefix, bos, eos), False, False)]
        turn += _assistant(t, i, msgs, last_query)
        turn.append(Piece(t.resolve(t.assistant_suffix, bos, eos), True, False))
        pieces += [Piece(p.text, p.trained and trained, p.content) for p in turn]
        pieces.append(Piece(t.resolve(t.assistant_sep, bos, eos), False, False))
    if add_generation_prompt:
        gen = t.generation_prompt if t.generation_prompt is not None else t.assistant_prefix
        pieces.append(Piece(t.resolve(gen, bos, eos), False, False))
    elif for_training and t.train_eos and msgs and msgs[-1]["role"] == "assistant":
        pieces.append(Piece(eos, True, False))
    return [p for p in pieces if p.text]


def _user(t: Template, content: str, system: str | None, bos: str, eos: str) -> list[Piece]:
    """A user turn; with `system=None` formats the system is merged into the first one."""
    strip = "user" in t.strip
    if system is None or t.system is not None:
        return _fmt(t.resolve(t.user, bos, eos), content.strip() if strip else content)
    merge = t.resolve(t.system_merge, bos, eos)
    head, _, tail = merge.partition("{system}")
    inner = [Piece(head, False, False), Piece(system, False, True)]
    inner += _fmt(tail, content)
    if strip:  # the family strips the merged text as one string
        inner = _strip_ends([p for p in inner if p.text])
    before, _, after = t.resolve(t.user, bos, eos).partition("{content}")
    return [Piece(before, False, False), *inner, Piece(after, False, False)]


def _strip_ends(pieces: list[Piece]) -> list[Piece]:
    first, last = pieces[0], pieces[-1]
    pieces[0] = Piece(first.text.lstrip(), first.trained, first.content)
    pieces[-1] = Piece(pieces[-1].text.rstrip(), last.trained, last.content)
    return pieces
