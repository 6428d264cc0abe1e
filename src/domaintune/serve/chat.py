"""A terminal chat on the engine: streamed answers, multi-turn history, /system, /reset, /exit."""

from __future__ import annotations

import dataclasses
import queue
import sys
from collections.abc import Callable
from typing import Any

from domaintune.serve.engine import Engine, SamplingParams, Sequence

HELP = "commands: /system TEXT (set the system prompt), /reset (forget the chat), /exit"


def answer(engine: Engine, name: str, messages: list[dict[str, str]], params: SamplingParams,
           write: Callable[[str], Any]) -> str:  # fmt: skip
    """Stream one answer to `write`; return its text."""
    from domaintune.serve.server import chat_prompt

    events: queue.Queue = queue.Queue()
    served = engine.served[name]
    prompt = chat_prompt(served, messages)
    room = served.context - len(prompt)
    if room <= 0:
        raise ValueError(f"the conversation is {len(prompt)} tokens, over the context; /reset")
    limited = dataclasses.replace(params, max_tokens=min(params.max_tokens, room))
    engine.submit(Sequence(served, prompt, limited, lambda s, d, f: events.put((d, f))))
    pieces = []
    while True:
        delta, done = events.get()
        pieces.append(delta)
        write(delta)
        if done:
            return "".join(pieces)


def chat_loop(engine: Engine, name: str, *, system: str | None = None, max_tokens: int = 512,
              temperature: float = 0.0, read: Callable[[str], str] = input,
              out: Any = None) -> list[dict[str, str]]:  # fmt: skip
    """Read lines until /exit or end of input; return the final history."""
    out = out or sys.stdout
    params = SamplingParams(max_tokens=max_tokens, temperature=temperature)
    history: list[dict[str, str]] = []
    out.write(f"chatting with {name}; {HELP}\n")
    while True:
        try:
            line = read("> ")
        except (EOFError, KeyboardInterrupt):
            out.write("\n")
            return history
        text = line.strip()
        if text == "/exit":
            return history
        if text == "/reset":
            history = []
            out.write("(history cleared)\n")
            continue
        if text.startswith("/system"):
            system = text[len("/system") :].strip() or None
            out.write(f"(system prompt {'set' if system else 'removed'})\n")
            continue
        if not text:
            continue
        history.append({"role": "user", "content": line})
        messages = ([{"role": "system", "content": system}] if system else []) + history

        def write(delta: str) -> None:
            out.write(delta)
            out.flush()

        try:
            reply = answer(engine, name, messages, params, write)
        except ValueError as err:
            history.pop()
            out.write(f"error: {err}\n")
            continue
        out.write("\n")
        history.append({"role": "assistant", "content": reply})
