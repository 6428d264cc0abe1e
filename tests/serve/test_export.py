"""Exports read back and compared: merged HF weights, GGUF tensors (F16 exact, Q8_0 within its
bound), Llama's q/k permutation by what it means, and the Ollama TEMPLATE rendered by a small Go
text/template interpreter (the subset the generator writes) against our own rendering."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from domaintune.serve.export_gguf import check_exportable, export_gguf, permute, read_gguf
from domaintune.serve.loading import ServeError
from domaintune.serve.ollama import export_ollama, go_template
from domaintune.serve.stage import export_model
from domaintune.templates import TEMPLATES, get_template, render_pieces
from helpers import make_texts


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    from domaintune.models import build_tiny_model

    out = tmp_path_factory.mktemp("llama") / "llama"
    return build_tiny_model(out, arch="llama", texts=make_texts(400), vocab_size=512,
                            hidden_size=128, num_layers=2, seed=1)  # fmt: skip


def test_hf_export_merges_adapter_into_sharded_safetensors(adapters, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from domaintune.models import load_for_eval

    out = export_model(adapters["med"], tmp_path / "hf", fmt="hf", max_shard_size="100KB")
    index = json.loads((out / "model.safetensors.index.json").read_text())
    shards = set(index["weight_map"].values())
    assert len(shards) > 1 and all(s.endswith(".safetensors") for s in shards)
    assert not list(out.glob("*.bin")) and not (out / "adapter_config.json").exists()
    merged = AutoModelForCausalLM.from_pretrained(str(out)).eval()
    peft, tok = load_for_eval(adapters["med"])
    assert isinstance(peft, PeftModel)
    ids = torch.tensor([tok("the heart pumps blood through arteries")["input_ids"]])
    with torch.no_grad():
        torch.testing.assert_close(merged(ids).logits, peft(ids).logits, atol=1e-5, rtol=1e-5)
    assert AutoTokenizer.from_pretrained(str(out)).chat_template == tok.chat_template
    gen = json.loads((out / "generation_config.json").read_text())
    assert gen["eos_token_id"] == json.loads(
        (adapters["med"] / "generation_config.json").read_text())["eos_token_id"]  # fmt: skip


def _hf_weights(path):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(path))
    return model.config, {k: v.float().numpy() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("arch", ["qwen2", "llama"])
def test_gguf_tensors_equal_hf_weights(arch, tiny_model_dir, tiny_llama, tmp_path):
    import gguf

    path = tiny_model_dir if arch == "qwen2" else tiny_llama
    cfg, hf = _hf_weights(path)
    f16 = read_gguf(export_gguf(path, tmp_path / "a.gguf", quant="f16"))
    q8 = read_gguf(export_gguf(path, tmp_path / "b.gguf", quant="q8_0"))
    names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight":
             "output_norm.weight", "model.layers.1.self_attn.q_proj.weight": "blk.1.attn_q.weight",
             "model.layers.1.self_attn.k_proj.weight": "blk.1.attn_k.weight",
             "model.layers.0.mlp.down_proj.weight": "blk.0.ffn_down.weight",
             "model.layers.0.post_attention_layernorm.weight": "blk.0.ffn_norm.weight"}  # fmt: skip
    if arch == "qwen2":
        names["model.layers.0.self_attn.q_proj.bias"] = "blk.0.attn_q.bias"
    assert len(f16) == len(q8) == len(hf) - (1 if "lm_head.weight" in hf else 0)
    # every tensor: the spot-checked names above, the rest through gguf's own name map
    tmap = gguf.get_tensor_name_map(getattr(gguf.MODEL_ARCH, arch.upper()), cfg.num_hidden_layers)
    for hf_name in hf:
        if hf_name != "lm_head.weight" or not cfg.tie_word_embeddings:
            names.setdefault(hf_name, tmap.get_name(hf_name, try_suffixes=(".weight", ".bias")))
    assert sorted(names.values()) == sorted(f16)
    worst = 0.0
    for hf_name, g_name in names.items():
        w = hf[hf_name]
        if arch == "llama" and "q_proj" in hf_name:
            w = permute(w, cfg.num_attention_heads)
        if arch == "llama" and "k_proj" in hf_name:
            w = permute(w, cfg.num_key_value_heads)
        if w.ndim == 1:  # norms and biases stay F32 in both files
            assert np.array_equal(f16[g_name], w) and np.array_equal(q8[g_name], w)
            continue
        assert np.array_equal(f16[g_name], w.astype(np.float16).astype(np.float32)), g_name
        blocks, err = w.reshape(-1, 32), np.abs(q8[g_name] - w).reshape(-1, 32)
        step = np.abs(blocks).max(axis=1, keepdims=True) / 127  # Q8_0: scale = amax / 127
        assert (err <= 0.6 * step + 1e-12).all(), g_name  # half a step + f16 scale rounding
        worst = max(worst, float(err.max()))
    assert worst > 0  # Q8_0 did quantize
    reader = gguf.GGUFReader(str(tmp_path / "b.gguf"))
    field = reader.fields["tokenizer.chat_template"]
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path))
    assert field.contents() == tok.chat_template
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    assert tokens[: len(tok)] == tok.convert_ids_to_tokens(list(range(len(tok))))
    assert reader.fields["tokenizer.ggml.eot_token_id"].contents() == tok.convert_tokens_to_ids(
        "<|im_end|>")  # fmt: skip
    assert reader.fields["general.architecture"].contents() == arch


def test_llama_permutation_means_interleaved_rope_pairs():
    """HF rotates dims (i, i + d/2) of each head together; llama.cpp rotates (2i, 2i + 1). After
    the permutation, output row 2i of a head is HF's row i and row 2i + 1 is HF's row i + d/2."""
    heads, d, hidden = 3, 8, 5
    w = np.arange(heads * d * hidden, dtype=np.float32).reshape(heads * d, hidden)
    p = permute(w, heads)
    for h in range(heads):
        for i in range(d // 2):
            assert np.array_equal(p[h * d + 2 * i], w[h * d + i])
            assert np.array_equal(p[h * d + 2 * i + 1], w[h * d + i + d // 2])


def test_gguf_refuses_unmapped_architecture_and_quant():
    tok = SimpleNamespace(is_fast=False)
    with pytest.raises(ServeError, match="GGUF export maps Qwen2ForCausalLM, LlamaForCausalLM "
                       "only; this model is GPT2LMHeadModel"):  # fmt: skip
        check_exportable(SimpleNamespace(architectures=["GPT2LMHeadModel"]), tok, "f16")
    with pytest.raises(ServeError, match="--quant 'q4_k'"):
        check_exportable(SimpleNamespace(architectures=["LlamaForCausalLM"]), tok, "q4_k")


# ---------------------------------------------------------------- Ollama

ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.S)


def _parse(template):
    """Go text/template subset -> nested nodes: text, print, if/else-if/else, range."""
    items, pos, trim_next = [], 0, False
    for m in ACTION.finditer(template):
        text = template[pos : m.start()]
        text = text.lstrip() if trim_next else text
        items.append(("text", text.rstrip() if m.group(1) else text))
        items.append(("act", m.group(2)))
        pos, trim_next = m.end(), bool(m.group(3))
    items.append(("text", template[pos:].lstrip() if trim_next else template[pos:]))

    def block(i):
        nodes = []
        while i < len(items):
            kind, s = items[i]
            if kind == "text":
                nodes.append(("text", s))
            elif s == "end" or s == "else" or s.startswith("else if "):
                return nodes, i
            elif s.startswith("if ") or s.startswith("range "):
                head, branches = s, []
                while True:
                    body, i = block(i + 1)
                    branches.append((head, body))
                    head = items[i][1]
                    if head == "end":
                        break
                nodes.append(("block", branches))
            else:
                nodes.append(("print", s))
            i += 1
        return nodes, i

    return block(0)[0]


def _value(expr, dot, root):
    if expr.startswith('"'):
        return json.loads(expr)
    if expr.startswith("eq "):
        a, b = re.match(r'eq (\S+) ("(?:[^"\\]|\\.)*")$', expr).groups()
        return _value(a, dot, root) == json.loads(b)
    field = expr.lstrip(".")
    return dot[field] if field in dot else root[field]


def _run(nodes, dot, root):
    out = []
    for node in nodes:
        if node[0] == "text":
            out.append(node[1])
        elif node[0] == "print":
            out.append(str(_value(node[1], dot, root)))
        else:
            for head, body in node[1]:
                if head.startswith("range "):
                    for item in _value(head[6:], dot, root):
                        out.append(_run(body, item, root))
                    break
                cond = head.removeprefix("else ").removeprefix("if ").strip()
                if head == "else" or _value(cond, dot, root):
                    out.append(_run(body, dot, root))
                    break
    return "".join(out)


def go_render(template, messages):
    """Render as Ollama does: .System = the system messages joined, .Messages = all messages."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    root = {
        "System": system,
        "Messages": [{"Role": m["role"], "Content": m["content"]} for m in messages],
    }
    return _run(_parse(template), root, root)


CONVERSATIONS = [
    [{"role": "user", "content": "What is 血压?"}],
    [{"role": "system", "content": "You are a cardiologist.\nBe brief."},
     {"role": "user", "content": "Why \"salt\"?"}],
    [{"role": "user", "content": "A?"}, {"role": "assistant", "content": "B, {{ not }} C."},
     {"role": "user", "content": "D?"}],
    [{"role": "system", "content": "S."}, {"role": "user", "content": "A?"},
     {"role": "assistant", "content": "line 1\nline 2"}, {"role": "user", "content": "E?"}],
]  # fmt: skip


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_ollama_template_renders_like_ours(name):
    t = get_template(name)
    bos, eos = t.family_tokens
    if t.system is None and t.system_merge is not None:
        with pytest.raises(ServeError, match="merges the system prompt"):
            go_template(name, bos=bos, eos=eos)
        return
    template = go_template(name, bos=bos, eos=eos)
    checked = 0
    for conv in CONVERSATIONS:
        if t.system is None and conv[0]["role"] == "system":
            continue
        pieces = render_pieces(t, conv, bos=bos, eos=eos, add_generation_prompt=True)
        assert go_render(template, conv) == "".join(p.text for p in pieces), conv
        checked += 1
    assert checked >= 2


def test_go_interpreter_trims_like_go():
    system = [{"role": "system", "content": "S"}]
    assert go_render('a  {{- "b" -}}  c{{ .System }}', system) == "abcS"


def test_ollama_export_writes_modelfile_and_gguf(tiny_model_dir, tmp_path):
    path = export_ollama(tiny_model_dir, tmp_path / "ollama", quant="q8_0")
    text = path.read_text()
    assert "# written by domaintune export --format ollama (template: chatml)" in text
    assert "FROM ./model-q8_0.gguf\n" in text and (tmp_path / "ollama/model-q8_0.gguf").exists()
    assert 'PARAMETER stop "<|im_end|>"\nPARAMETER stop "<|endoftext|>"\n' in text
    assert text.endswith("PARAMETER num_ctx 1024\n")
    template = re.search(r'TEMPLATE """(.*)"""', text, re.S).group(1)
    assert template == go_template("chatml")


@pytest.mark.slow
def test_llama_cpp_greedy_tokens_equal_ours(tiny_model_dir, tmp_path):
    """llama.cpp itself on our GGUF (needs `pip install llama-cpp-python`, a source build)."""
    llama_cpp = pytest.importorskip("llama_cpp")
    from domaintune.eval.generate import generate_ids
    from domaintune.models import load_for_eval
    from domaintune.templates import render_text

    path = export_gguf(tiny_model_dir, tmp_path / "m.gguf", quant="f16")
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=256, verbose=False)
    model, tok = load_for_eval(tiny_model_dir)
    for question in ("the heart pumps blood", "心脏 把 血液 泵 到 全身"):
        text = render_text(tok, [{"role": "user", "content": question}], add_generation_prompt=True)
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert llm.tokenize(text.encode(), add_bos=False, special=True) == ids
        ours = generate_ids(model, [ids], stop_ids=[-1], pad_id=0, batch_size=1,
                            max_new_tokens=8, show_progress=False)[0]  # fmt: skip
        llm.reset()
        theirs = []
        for t in llm.generate(ids, top_k=1, temp=0.0, reset=True):
            theirs.append(t)
            if len(theirs) == 8:
                break
        assert theirs == ours
