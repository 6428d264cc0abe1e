"""Record types (documents, conversations, eval items) and the validated parsing of raw rows."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

ROLES = ("system", "user", "assistant")
FORMATS = {
    "alpaca": 'alpaca ("instruction", "output")',
    "sharegpt": 'sharegpt ("conversations")',
    "openai": 'openai ("messages")',
    "text": 'text ("text")',
}
SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "model": "assistant",
    "system": "system",
}
OPENAI_ROLES = {"system": "system", "user": "user", "assistant": "assistant"}
# What an eval item measures, for by-dimension reports (docs/eval-mcq.md, "Dimensions").
DIMENSIONS = ("knowledge", "reasoning", "safety", "instruction_following", "general")


class DataError(ValueError):
    """A problem in an input file, located by path, line (or row) and field."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        line: int | None,
        message: str,
        field: str | None = None,
        *,
        row: bool = False,
    ) -> None:
        self.path, self.line, self.field = str(path), line, field
        self.message, self.row = message, row
        if line is None:
            where = self.path
        else:
            where = f"{self.path}:row {line}" if row else f"{self.path}:{line}"
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the error picklable so it survives multiprocessing workers.
        rebuild = functools.partial(type(self), row=self.row)
        return (rebuild, (self.path, self.line, self.message, self.field))


def json_type(value: Any) -> str:
    """Name a Python value by its JSON type (string, number, boolean, object, array, null)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _require(data: dict[str, Any], key: str, kind: str) -> Any:
    """Return data[key], raising a clear error when the canonical key is absent."""
    if key not in data:
        raise ValueError(f"canonical {kind} dict is missing {key!r}")
    return data[key]


@dataclass
class Message:
    """One chat turn."""

    role: str
    content: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; expected one of {', '.join(ROLES)}")

    def to_dict(self) -> dict[str, str]:
        """Return the OpenAI-style {"role", "content"} dict."""
        return {"role": self.role, "content": self.content}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        """Build from a {"role", "content"} dict."""
        return cls(
            role=_require(data, "role", "message"), content=_require(data, "content", "message")
        )


@dataclass
class Document:
    """A piece of raw domain text (for continued pre-training or retrieval).

    `extra` holds the input row's other top-level fields (url, date, category ...), written back
    unchanged by `to_dict`, so a document keeps them from input to output.
    """

    id: str
    text: str
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the canonical jsonl form (extra fields at the top level, after ours)."""
        out = {"id": self.id, "text": self.text, "source": self.source, "meta": dict(self.meta)}
        return {**out, **{k: v for k, v in self.extra.items() if k not in out}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        """Inverse of to_dict."""
        return cls(
            id=_require(data, "id", "document"),
            text=_require(data, "text", "document"),
            source=data.get("source", ""),
            meta=dict(data.get("meta") or {}),
            extra={k: v for k, v in data.items() if k not in _DOCUMENT_KEYS},
        )


_DOCUMENT_KEYS = ("id", "text", "source", "meta")


@dataclass
class Conversation:
    """A chat example; the system prompt is kept apart from the user/assistant turns."""

    id: str
    messages: list[Message]
    system: str | None = None
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def to_openai(self) -> list[dict[str, str]]:
        """Return OpenAI-style messages, with the system prompt first when set."""
        head = [{"role": "system", "content": self.system}] if self.system is not None else []
        return head + [m.to_dict() for m in self.messages]

    def to_dict(self) -> dict[str, Any]:
        """Return the canonical jsonl form."""
        return {
            "id": self.id,
            "messages": [m.to_dict() for m in self.messages],
            "system": self.system,
            "source": self.source,
            "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conversation:
        """Inverse of to_dict."""
        return cls(
            id=_require(data, "id", "conversation"),
            messages=[Message.from_dict(m) for m in _require(data, "messages", "conversation")],
            system=data.get("system"),
            source=data.get("source", ""),
            meta=dict(data.get("meta") or {}),
        )


@dataclass
class EvalItem:
    """One evaluation row: the one type every eval reader returns (io.read_eval_items).

    Multiple choice: `choices` maps letters A, B, ... to option texts and `answer` is the right
    letter. Open question: `choices` is None and `answer` is the reference answer (may be empty).
    `subject` is the set, subject or category that reports group by; `prediction` is a model's
    answer on rows that carry one (`eval gen --out` items); `meta` holds the row's other fields.
    `where` ("file:line" or "file:row N") and `line` locate the row for messages; they are not
    part of the item's value.
    """

    id: str
    question: str
    answer: str
    choices: dict[str, str] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    subject: str | None = None
    dimension: str | None = None
    system: str | None = None
    prediction: str | None = None
    where: str = field(default="", compare=False, repr=False)
    line: int = field(default=0, compare=False, repr=False)

    def __post_init__(self) -> None:
        # A subject kept in meta (the layout before it had a field of its own) is the subject.
        if self.subject is None and isinstance(self.meta.get("subject"), str):
            meta = dict(self.meta)
            self.subject = meta.pop("subject")
            self.meta = meta

    @property
    def is_multiple_choice(self) -> bool:
        """True when the item has lettered choices."""
        return self.choices is not None

    def to_dict(self) -> dict[str, Any]:
        """Return the canonical jsonl form."""
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "choices": dict(self.choices) if self.choices is not None else None,
            "subject": self.subject,
            "dimension": self.dimension,
            "system": self.system,
            "prediction": self.prediction,
            "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalItem:
        """Inverse of to_dict."""
        choices = data.get("choices")
        return cls(
            id=_require(data, "id", "eval item"),
            question=_require(data, "question", "eval item"),
            answer=_require(data, "answer", "eval item"),
            choices=dict(choices) if choices is not None else None,
            meta=dict(data.get("meta") or {}),
            subject=data.get("subject"),
            dimension=data.get("dimension"),
            system=data.get("system"),
            prediction=data.get("prediction"),
        )


# ---------------------------------------------------------------- raw rows -> records


@dataclass
class RawRow:
    """A row as read from a file, plus where it came from so errors can point at it."""

    data: dict[str, Any]
    path: str
    line: int
    stem: str = "row"  # prefix of default ids, and the default source
    row_indexed: bool = False  # report "path:row N" instead of "path:N"

    def error(self, message: str, field: str | None = None) -> DataError:
        """Build a DataError located at this row."""
        return DataError(self.path, self.line, message, field, row=self.row_indexed)


class _Turn(NamedTuple):
    role: str
    content: str
    path: str  # field path of the role, e.g. conversations[3].from
    raw: str  # role as written in the file


def _check_str(ctx: RawRow, value: Any, name: str, *, empty_ok: bool = False) -> str:
    if not isinstance(value, str):
        raise ctx.error(f'field "{name}" must be a string, got {json_type(value)}', name)
    if not empty_ok and not value.strip():
        raise ctx.error(f'field "{name}" is empty; fill it in or drop the row', name)
    return value


def _field(ctx: RawRow, obj: Mapping[str, Any], key: str, name: str, needs: str) -> str:
    if key not in obj:
        raise ctx.error(f'missing required field "{name}" ({needs})', name)
    return _check_str(ctx, obj[key], name)


def _opt_str(ctx: RawRow, key: str) -> str | None:
    value = ctx.data.get(key)
    return None if value is None else _check_str(ctx, value, key, empty_ok=True)


def _text(ctx: RawRow, value: Any, name: str, *, empty_ok: bool = False) -> str:
    # Numeric answers and choices ("42", 3.5) are common in benchmark files; keep them as text.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return _check_str(ctx, value, name, empty_ok=empty_ok)


def _row_id(ctx: RawRow) -> str:
    value = ctx.data.get("id")
    if value is None or value == "":
        return f"{ctx.stem}-{ctx.line}"
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ctx.error(f'field "id" must be a string or integer, got {json_type(value)}', "id")
    return str(value)


def _meta(ctx: RawRow) -> dict[str, Any]:
    value = ctx.data.get("meta")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ctx.error(f'field "meta" must be an object, got {json_type(value)}', "meta")
    return dict(value)


def _source(ctx: RawRow, source: str | None) -> str:
    # Precedence: caller's explicit source, then the row's own, then the file stem.
    return source if source is not None else _opt_str(ctx, "source") or ctx.stem


def detect_format(row: Mapping[str, Any]) -> str | None:
    """Name the row's format: sharegpt, openai, alpaca, eval, text, or None if unknown."""
    if "conversations" in row:
        return "sharegpt"
    if "messages" in row:
        return "openai"
    # Checked before "text": the original Alpaca release also carries a "text" column.
    if "instruction" in row or "output" in row:
        return "alpaca"
    if "question" in row:
        return "eval"
    return "text" if "text" in row else None


def _wrong_format(ctx: RawRow, fmt: str | None, accepted: Iterable[str]) -> DataError:
    keys = ", ".join(f'"{k}"' for k in ctx.data) or "none"
    found = f"this row is in {fmt} format" if fmt else "unrecognised row format"
    formats = ", ".join(FORMATS[a] for a in accepted)
    return ctx.error(
        f"{found}; keys seen: {keys}; accepted formats: {formats}; "
        "rename the fields to match one of them"
    )


# ---------------------------------------------------------------- format parsers


def _parse_document(ctx: RawRow, source: str | None) -> Document:
    text = _field(ctx, ctx.data, "text", "text", 'text rows need "text"')
    extra = {k: v for k, v in ctx.data.items() if k not in _DOCUMENT_KEYS}
    return Document(
        id=_row_id(ctx), text=text, source=_source(ctx, source), meta=_meta(ctx), extra=extra
    )


def _parse_alpaca(ctx: RawRow, source: str | None) -> Conversation:
    needs = 'alpaca rows need "instruction" and "output"'
    instruction = _field(ctx, ctx.data, "instruction", "instruction", needs)
    output = _field(ctx, ctx.data, "output", "output", needs)
    extra = _opt_str(ctx, "input") or ""
    turns = _alpaca_history(ctx)
    user = f"{instruction}\n{extra}" if extra.strip() else instruction
    turns += [
        _Turn("user", user, "instruction", "user"),
        _Turn("assistant", output, "output", "assistant"),
    ]
    return _conversation(ctx, _opt_str(ctx, "system"), turns, source)


def _alpaca_history(ctx: RawRow) -> list[_Turn]:
    history = ctx.data.get("history")
    if history is None:
        return []
    if not isinstance(history, list | tuple):
        raise ctx.error(
            'field "history" must be an array of [user, assistant] pairs, '
            f"got {json_type(history)}",
            "history",
        )
    turns = []
    for i, pair in enumerate(history):
        name = f"history[{i}]"
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            got = f"an array of {len(pair)}" if isinstance(pair, list | tuple) else json_type(pair)
            raise ctx.error(f'field "{name}" must be a [user, assistant] pair, got {got}', name)
        turns.append(_Turn("user", _check_str(ctx, pair[0], f"{name}[0]"), f"{name}[0]", "user"))
        turns.append(
            _Turn("assistant", _check_str(ctx, pair[1], f"{name}[1]"), f"{name}[1]", "assistant")
        )
    return turns


def _parse_sharegpt(ctx: RawRow, source: str | None) -> Conversation:
    turns = _parse_turns(ctx, "conversations", ("from", "value"), SHAREGPT_ROLES)
    return _conversation(ctx, _opt_str(ctx, "system"), turns, source)


def _parse_openai(ctx: RawRow, source: str | None) -> Conversation:
    turns = _parse_turns(ctx, "messages", ("role", "content"), OPENAI_ROLES)
    return _conversation(ctx, _opt_str(ctx, "system"), turns, source)


def _parse_turns(
    ctx: RawRow, key: str, keys: tuple[str, str], roles: dict[str, str]
) -> list[_Turn]:
    items = ctx.data[key]
    if not isinstance(items, list | tuple):
        raise ctx.error(
            f'field "{key}" must be an array of {{"{keys[0]}", "{keys[1]}"}} objects, '
            f"got {json_type(items)}",
            key,
        )
    turns = []
    for i, item in enumerate(items):
        name = f"{key}[{i}]"
        if not isinstance(item, dict):
            raise ctx.error(f'field "{name}" must be an object, got {json_type(item)}', name)
        # Some ShareGPT exports use role/content inside "conversations"; accept both spellings.
        role_key, content_key = (
            keys if keys[0] in item or "role" not in item else ("role", "content")
        )
        needs = f'each turn needs "{role_key}" and "{content_key}"'
        raw = _field(ctx, item, role_key, f"{name}.{role_key}", needs)
        role = roles.get(raw.lower())
        if role is None:
            raise ctx.error(
                f'field "{name}.{role_key}" has unknown value "{raw}"; expected one '
                f"of: {', '.join(roles)}",
                f"{name}.{role_key}",
            )
        content = _field(ctx, item, content_key, f"{name}.{content_key}", needs)
        turns.append(_Turn(role, content, f"{name}.{role_key}", raw))
    return turns


def _conversation(
    ctx: RawRow, system: str | None, turns: list[_Turn], source: str | None
) -> Conversation:
    if turns and turns[0].role == "system":
        if system:
            raise ctx.error(
                f'field "{turns[0].path}" is a system turn but "system" is also set; keep only one',
                turns[0].path,
            )
        system, turns = turns[0].content, turns[1:]
    _check_order(ctx, turns)
    return Conversation(
        id=_row_id(ctx),
        messages=[Message(t.role, t.content) for t in turns],
        system=system or None,
        source=_source(ctx, source),
        meta=_meta(ctx),
    )


def _check_order(ctx: RawRow, turns: list[_Turn]) -> None:
    if not turns:
        raise ctx.error("conversation has no user/assistant turns; drop the row")
    for i, turn in enumerate(turns):
        if turn.role == "system":
            raise ctx.error(
                f'field "{turn.path}" is "{turn.raw}", but a system prompt is only '
                "allowed as the first turn",
                turn.path,
            )
        expected = "user" if i % 2 == 0 else "assistant"
        if turn.role != expected:
            raise ctx.error(
                f'field "{turn.path}" is "{turn.raw}" but turns must alternate '
                f"user/assistant starting with user; expected {expected} here",
                turn.path,
            )
    last = turns[-1]
    if last.role != "assistant":
        raise ctx.error(
            f'conversation must end with an assistant turn, but "{last.path}" is '
            f'"{last.raw}"; add the assistant reply or drop the last turn',
            last.path,
        )


_CONVERSATION_PARSERS: dict[str, Callable[[RawRow, str | None], Conversation]] = {
    "alpaca": _parse_alpaca,
    "sharegpt": _parse_sharegpt,
    "openai": _parse_openai,
}


def parse_eval_item(
    ctx: RawRow, *, kind: str = "any", subject: str | None = None, require: Iterable[str] = ()
) -> EvalItem:
    """Turn an eval row into an EvalItem: the one parser behind io.read_eval_items.

    kind "choice": a multiple-choice row (lettered fields "A", "B", ... or "choices", and the
    answer letter or 0-based index); "open": a question (question | prompt | instruction [+
    input]) with a reference (reference | answer | output); "answered": an open row with a
    model's `prediction` (its question may be absent); "any": multiple choice when the row has
    choices, else open. `subject` is the default when the row has no "subject" (or "set");
    `require` names fields the row must give itself (such as "id").
    """
    if kind not in EVAL_KINDS:
        raise ValueError(f"kind must be one of {', '.join(EVAL_KINDS)}, got {kind!r}")
    for key in require:
        if ctx.data.get(key) in (None, ""):
            raise ctx.error(f'missing field "{key}"; these rows need {", ".join(require)}', key)
    question = _eval_question(ctx, required=kind != "answered")
    choices, letters = (None, set()) if kind in ("open", "answered") else _eval_choices(ctx, kind)
    if choices is not None:
        answer = _choice_answer(ctx, choices)
    else:
        hint = _MC_HINT if kind == "any" else ""
        answer = _first_text(ctx, REFERENCE_FIELDS, "reference answer", hint)
    prediction = (
        _first_text(ctx, ("prediction",), "prediction")
        if kind == "answered"
        else _opt_text(ctx, "prediction")
    )
    # Other fields (explanation, source, ...) are kept so reports can group by them.
    consumed = _EVAL_FIELDS | letters
    meta = {**{k: v for k, v in ctx.data.items() if k not in consumed}, **_meta(ctx)}
    where = f"{ctx.path}:row {ctx.line}" if ctx.row_indexed else f"{ctx.path}:{ctx.line}"
    return EvalItem(
        id=_row_id(ctx),
        question=question,
        answer=answer,
        choices=choices,
        meta=meta,
        subject=_opt_str(ctx, "subject") or _opt_str(ctx, "set") or subject,
        dimension=_dimension(ctx),
        system=_opt_str(ctx, "system") or None,
        prediction=prediction,
        where=where,
        line=ctx.line,
    )


EVAL_KINDS = ("any", "choice", "open", "answered")
EVAL_LETTERS = "ABCDEFGHIJ"  # up to ten options (MMLU-Pro's count)
QUESTION_FIELDS = ("question", "prompt", "instruction")
REFERENCE_FIELDS = ("reference", "answer", "output")
_EVAL_FIELDS = frozenset(
    {"id", *QUESTION_FIELDS, "input", *REFERENCE_FIELDS, "choices", "meta"}
    | {"subject", "set", "dimension", "system", "prediction"}
)
_MC_HINT = '; multiple-choice rows need lettered options "A", "B", ... or "choices" instead'


def _eval_question(ctx: RawRow, *, required: bool) -> str:
    data = ctx.data
    key = next((k for k in QUESTION_FIELDS if data.get(k) is not None), None)
    if key is None:
        if not required:
            return ""
        names = ", ".join(f'"{k}"' for k in QUESTION_FIELDS)
        raise ctx.error(f"missing the question: give it in one of the fields {names}", "question")
    question = _text(ctx, data[key], key, empty_ok=not required)
    extra = _opt_str(ctx, "input") if key == "instruction" else None
    if extra and extra.strip():
        question = f"{question}\n{extra}"  # alpaca: the input follows the instruction
    return question


def _first_text(ctx: RawRow, keys: Iterable[str], what: str, hint: str = "") -> str:
    keys = tuple(keys)
    for key in keys:
        if ctx.data.get(key) is not None:
            return _text(ctx, ctx.data[key], key, empty_ok=True)
    names = ", ".join(f'"{k}"' for k in keys)
    where = f"one of the fields {names}" if len(keys) > 1 else f"the field {names}"
    raise ctx.error(f"missing the {what}: give it in {where}{hint}", keys[0])


def _opt_text(ctx: RawRow, key: str) -> str | None:
    value = ctx.data.get(key)
    return None if value is None else _text(ctx, value, key, empty_ok=True)


def _dimension(ctx: RawRow) -> str | None:
    value = _opt_str(ctx, "dimension") or None
    if value is not None and value not in DIMENSIONS:
        raise ctx.error(
            f'field "dimension" is {value!r}; use one of {", ".join(DIMENSIONS)} or leave it out',
            "dimension",
        )
    return value


def _eval_choices(ctx: RawRow, kind: str) -> tuple[dict[str, str] | None, set[str]]:
    data = ctx.data
    letters = sorted(k for k in data if len(k) == 1 and "A" <= k <= "Z")
    raw = data.get("choices")
    if isinstance(raw, list | tuple) and len(raw) <= len(EVAL_LETTERS):
        items = [(EVAL_LETTERS[i], v, f"choices[{i}]") for i, v in enumerate(raw)]
    elif isinstance(raw, dict):
        items = [(str(k), v, f"choices.{k}") for k, v in raw.items()]
    elif raw is not None:
        raise ctx.error(
            f'field "choices" must be a list of at most {len(EVAL_LETTERS)} options or an object '
            f"mapping letters to options, got {json_type(raw)}",
            "choices",
        )
    elif letters or kind == "choice":
        items = [(k, data[k], k) for k in letters]
    else:
        return None, set()
    return _check_choices(ctx, items), set(letters)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _check_choices(ctx: RawRow, items: list[tuple[str, Any, str]]) -> dict[str, str]:
    """Letter -> option text; blank trailing options (an "E" column some rows leave empty) are
    not options, a blank one before the last is an error."""
    dropped = None
    while items and _blank(items[-1][1]):
        dropped = items.pop()
    blank = next((it for it in items if _blank(it[1])), None)
    if blank is None and len(items) < 2 and dropped is not None:
        blank = dropped  # {"A": "a", "B": ""}: the empty option, not a missing one
    if blank is not None:
        raise ctx.error(f'option "{blank[0]}" is empty; every option needs its text', blank[2])
    keys = "".join(k for k, _, _ in items)
    if not 2 <= len(keys) <= len(EVAL_LETTERS) or keys != EVAL_LETTERS[: len(keys)]:
        raise ctx.error(
            "options must be lettered A, B, C ... without gaps, 2 to "
            f"{len(EVAL_LETTERS)} of them; found {', '.join(keys) or 'none'}",
            "choices",
        )
    return {k: _text(ctx, value, name) for k, value, name in items}


def _choice_answer(ctx: RawRow, choices: dict[str, str]) -> str:
    raw = ctx.data.get("answer")
    if _blank(raw):
        raise ctx.error(
            'field "answer" is missing or empty; give the letter of the right option', "answer"
        )
    keys = list(choices)
    # MMLU on the Hub stores the answer as a 0-based index instead of a letter.
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw < len(keys):
        return keys[raw]
    text = _text(ctx, raw, "answer").strip()
    for candidate in (text, text.upper()):
        if candidate in choices:
            return candidate
    if text.isdigit() and int(text) < len(keys):
        return keys[int(text)]
    raise ctx.error(
        f'field "answer" is "{raw}" but the choices are {", ".join(keys)}; '
        "use one of those letters",
        "answer",
    )


def parse_document(raw: RawRow, source: str | None = None) -> Document:
    """Turn a `text` (or canonical document) row into a Document."""
    fmt = detect_format(raw.data)
    if fmt != "text":
        raise _wrong_format(raw, fmt, ["text"])
    return _parse_document(raw, source)


def check_format(raw: RawRow, expected: str) -> None:
    """Raise a DataError unless the row is in the `expected` format (e.g. "alpaca")."""
    fmt = detect_format(raw.data)
    if fmt != expected:
        raise _wrong_format(raw, fmt, [expected])


def parse_conversation(raw: RawRow, source: str | None = None) -> Conversation:
    """Turn an alpaca, sharegpt, openai or canonical row into a validated Conversation."""
    fmt = detect_format(raw.data)
    parser = _CONVERSATION_PARSERS.get(fmt or "")
    if parser is None:
        raise _wrong_format(raw, fmt, _CONVERSATION_PARSERS)
    return parser(raw, source)


def parse_record(raw: RawRow, source: str | None = None) -> Document | Conversation:
    """Turn a row of any document or conversation format into the matching record."""
    fmt = detect_format(raw.data)
    if fmt == "text":
        return _parse_document(raw, source)
    if fmt in _CONVERSATION_PARSERS:
        return _CONVERSATION_PARSERS[fmt](raw, source)
    raise _wrong_format(raw, fmt, FORMATS)
