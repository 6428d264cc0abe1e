"""What every synth kind shares: ask the teacher, parse replies into candidate rows, filter them,
number the kept rows and write them with a report (requested, received, kept, rejected by reason).

Rows are numbered in request order after all replies are in, so a resumed run (replies from the
cache) writes byte for byte what an uninterrupted run writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domaintune.data.accounting import Counts, Rejects, write_report
from domaintune.io import write_jsonl
from domaintune.records import Conversation, EvalItem, Message
from domaintune.synth.client import Messages, TeacherClient
from domaintune.synth.filters import Limits, NoveltyFilter, check_row


@dataclass
class Request:
    """One teacher request and what its parser needs to know about where it came from."""

    messages: Messages
    context: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None


@dataclass
class Candidate:
    """A generated row before filtering: the turns, the language expected, its provenance."""

    messages: list[dict[str, str]]  # user/assistant turns, OpenAI form
    lang: str | None
    provenance: dict[str, Any]
    extra_meta: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None  # a kind's own check failed (say, a quote not in the source)
    # Answers of translation tasks are in another language: checked only where they must match.
    answer_in_lang: bool = False
    # Labels and extracted spans are in the prompt by design (converted datasets).
    skip_restates: bool = False
    system: str | None = None

    @property
    def prompt(self) -> str:
        return next(m["content"] for m in self.messages if m["role"] == "user")

    @property
    def answer(self) -> str:
        return [m["content"] for m in self.messages if m["role"] == "assistant"][-1]

    def summary(self) -> dict[str, Any]:
        return {"messages": self.messages, "provenance": self.provenance}


Parser = Callable[[Request, str], list[Candidate]]


class Synth:
    """One synth run's bookkeeping: counts, the rejects file, candidates so far.

    Use as a context manager (the rejects file is written atomically on a clean exit).
    """

    def __init__(self, kind: str, source: str, rejects: str | Path | None = None) -> None:
        self.kind, self.source = kind, source
        self.counts = Counts()
        self.rejects = Rejects(rejects, self.counts)
        self.candidates: list[Candidate] = []

    def __enter__(self) -> Synth:
        self.rejects.__enter__()
        return self

    def __exit__(self, *exc: object) -> bool | None:
        return self.rejects.__exit__(*exc)

    def reject(self, row: dict[str, Any], reason: str, value: Any = None) -> None:
        self.counts.read += 1
        self.rejects.add(row, reason, value)

    def collect(
        self,
        client: TeacherClient | None,
        requests: Sequence[Request],
        parse: Parser,
        *,
        progress: bool = False,
    ) -> list[list[Candidate]]:
        """Ask the teacher every request; parsed candidates per request ([] when it failed)."""
        if client is None:
            raise ValueError(f"synth {self.kind} needs a teacher: give --base-url and --model")
        replies = client.run(
            [r.messages for r in requests],
            seeds=[r.seed for r in requests],
            progress=progress,
            description=f"synth {self.kind}",
        )
        out = []
        for request, reply in zip(requests, replies, strict=True):
            if reply is None:
                self.reject({"context": request.context}, "teacher_failed")
                out.append([])
                continue
            try:
                found = parse(request, reply.content)
            except (ValueError, KeyError, TypeError) as err:
                self.reject({"context": request.context, "reply": reply.content},
                            "unparseable_reply", str(err))  # fmt: skip
                found = []
            for c in found:
                c.provenance.setdefault("teacher", client.model)
            out.append(found)
        return out

    def provisional(
        self, limits: Limits, novelty: float | None, existing: Sequence[str] = ()
    ) -> list[str]:
        """Prompts of the candidates so far that would be kept (nothing is counted or written)."""
        passed = [c for c in self.candidates if _reason(c, limits) is None]
        if novelty is None:
            return [c.prompt for c in passed]
        verdicts = NoveltyFilter(novelty).filter([c.prompt for c in passed], existing)
        return [c.prompt for c, v in zip(passed, verdicts, strict=True) if v.novel]

    def finish(
        self,
        *,
        limits: Limits,
        novelty: float | None,
        existing: Sequence[str] = (),
        as_eval: bool = False,
    ) -> list[dict[str, Any]]:
        """Filter the candidates (checks, then novelty), number and shape the kept rows."""
        passed = []
        for c in self.candidates:
            reason = _reason(c, limits)
            if reason is not None:
                self.reject(c.summary(), reason)
            else:
                passed.append(c)
        if novelty is not None and passed:
            verdicts = NoveltyFilter(novelty).filter([c.prompt for c in passed], existing)
            kept = []
            for c, v in zip(passed, verdicts, strict=True):
                if v.novel:
                    kept.append(c)
                else:
                    where = "existing" if v.match < len(existing) else "generated"
                    self.reject(c.summary(), f"near_duplicate_{where}", round(v.score, 4))
            passed = kept
        self.counts.read += len(passed)
        self.counts.kept += len(passed)
        shape = self._eval_item if as_eval else self._conversation
        return [shape(c, i) for i, c in enumerate(passed, 1)]

    def _conversation(self, c: Candidate, i: int) -> dict[str, Any]:
        meta = {"source": self.source, "kind": self.kind, "provenance": c.provenance,
                **c.extra_meta}  # fmt: skip
        messages = [Message(m["role"], m["content"]) for m in c.messages]
        conv = Conversation(f"{self.kind}-{i:06d}", messages, system=c.system, source=self.source,
                            meta=meta)  # fmt: skip
        return conv.to_dict()

    def _eval_item(self, c: Candidate, i: int) -> dict[str, Any]:
        meta = {"source": self.source, "kind": "qa-eval", "provenance": c.provenance}
        item = EvalItem(f"eval-{i:06d}", c.prompt, c.answer, meta=meta, subject=self.source,
                        dimension=c.extra_meta.get("dimension", "knowledge"))  # fmt: skip
        return item.to_dict()


def _reason(c: Candidate, limits: Limits) -> str | None:
    """Why a candidate is rejected before novelty (its kind's problem, then the row checks)."""
    return c.problem or check_row(c.prompt, c.answer, lang=c.lang, limits=limits,
                                  answer_lang=c.answer_in_lang,
                                  restates_check=not c.skip_restates)  # fmt: skip


def write_outputs(
    rows: list[dict[str, Any]],
    out: str | Path,
    synth: Synth,
    *,
    report: str | Path | None,
    usage: dict[str, Any] | None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the kept rows (atomically) and the report; returns the report's content."""
    write_jsonl(out, rows)
    body: dict[str, Any] = {"kind": synth.kind}
    if usage:
        body["requested"] = usage["requested"]
        body["received"] = usage["requested"] - usage["failed"]
        body["teacher"] = usage
    body.update(extra or {})
    write_report(report, synth.counts, **body)
    return {**synth.counts.to_dict(), **body}
