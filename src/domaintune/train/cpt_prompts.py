"""Task-style prompts inside continued pre-training text (`cpt_prompts:` on a `pt` stage).

Source document §6: CPT learns more when the pre-training text also holds task-style prompts,
e.g. a document followed by "总结上文" ("summarise the text above") and the answer. A seeded
share of the documents gets an instruction appended after its text and, as the target, the
document's own title (a `title` field in meta or the row) or else its first line (first sentence
when the first line is long). The instruction is Chinese when the document is mostly Han
characters, else English; the loss is the plain language-model loss over the whole text.

    <document text>

    总结上文的主题：            (English: "Summarise the document above in one line:")
    <title or first line>
"""

from __future__ import annotations

import random
import re
from dataclasses import replace

from pydantic import BaseModel, ConfigDict, Field

from domaintune.records import Document
from domaintune.text import cjk_share

# (instruction for a title target, instruction for a first-line target), by language.
INSTRUCTIONS = {
    "zh": ("为上文拟一个标题：", "总结上文的主题："),
    "en": ("Give the document above a title:", "Summarise the document above in one line:"),
}
# A document whose letters are at least half CJK (a majority) gets the Chinese instruction.
ZH_SHARE = 0.5
_SENTENCE_END = re.compile(r"(?<=[。！？.!?])\s*")


class CptPromptsConfig(BaseModel):
    """`cpt_prompts:` settings of a pt stage."""

    model_config = ConfigDict(extra="forbid")

    share: float = Field(0.3, gt=0.0, le=1.0, description="share of documents given a prompt")
    max_target_chars: int = Field(
        80, gt=0, description="the target (title or first line) is cut to this many characters"
    )
    sources: list[str] | None = Field(
        None, description="names of the data sources to wrap (default: all of the stage's)"
    )


def language(text: str) -> str:
    """'zh' when the text is mostly CJK characters (ZH_SHARE), else 'en'."""
    return "zh" if cjk_share(text) >= ZH_SHARE else "en"


def target_of(doc: Document, max_chars: int) -> tuple[str, bool] | None:
    """(target, is_title): the document's title, else its first line or first sentence."""
    title = doc.meta.get("title") or doc.extra.get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()[:max_chars], True
    lines = [ln.strip() for ln in doc.text.strip().splitlines() if ln.strip()]
    if len(lines) < 2:
        return None  # a one-paragraph document: its first line is the whole text
    first = lines[0]
    if len(first) > max_chars:
        first = _SENTENCE_END.split(first, maxsplit=1)[0]
    return first[:max_chars], False


def wrap(doc: Document, target: str, is_title: bool) -> Document:
    """The document with its instruction and target appended (golden layout above)."""
    instruction = INSTRUCTIONS[language(doc.text)][0 if is_title else 1]
    text = f"{doc.text.rstrip()}\n\n{instruction}\n{target}"
    return replace(doc, text=text, meta={**doc.meta, "cpt_prompt": instruction})


def apply_cpt_prompts(
    docs: list[Document], config: CptPromptsConfig, seed: int
) -> tuple[list[Document], int]:
    """A seeded `share` of the documents wrapped (same seed, same documents); the count wrapped.

    Documents without a usable target (one paragraph, no title) are never chosen."""
    eligible = [i for i, d in enumerate(docs) if target_of(d, config.max_target_chars)]
    k = round(len(docs) * config.share)
    chosen = set(random.Random(f"cpt_prompts:{seed}").sample(eligible, min(k, len(eligible))))
    out = []
    for i, doc in enumerate(docs):
        if i in chosen:
            target, is_title = target_of(doc, config.max_target_chars)
            doc = wrap(doc, target, is_title)
        out.append(doc)
    return out, len(chosen)
