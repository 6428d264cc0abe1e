"""Tiny tokenizers carrying a model family's control tokens and its official chat template."""

from __future__ import annotations

import json
from pathlib import Path

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

FIXTURES = Path(__file__).parent / "templates" / "fixtures"
CORPUS = [
    "Hello there, how are you? I am fine. The heart pumps blood through the body.",
    "你好，今天天气怎么样？高血压患者需要每天测量血压。心脏把血液泵到全身。",
    "USER: ASSISTANT: ### Instruction: ### Response: [INST] [/INST] <<SYS>> <</SYS>>",
] * 20


def load_fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def fixture_names() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


def family_tokenizer(fx: dict, *, with_template: bool = True) -> PreTrainedTokenizerFast:
    """A byte-level BPE of ~600 tokens plus the family's special tokens as control tokens."""
    specials = [
        t
        for t in [
            fx.get("bos_token"),
            fx.get("eos_token"),
            fx.get("unk_token"),
            fx.get("pad_token"),
            *fx.get("special_tokens", []),
        ]
        if t
    ]
    specials = list(dict.fromkeys(specials))
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600, show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    kwargs = {k: fx[k] for k in ("bos_token", "eos_token", "unk_token", "pad_token") if fx.get(k)}
    template = fx.get("chat_template") if with_template else None
    return PreTrainedTokenizerFast(tokenizer_object=tok, chat_template=template, **kwargs)
