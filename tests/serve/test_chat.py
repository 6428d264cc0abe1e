"""`domaintune chat` through a pseudo-terminal: streamed greedy answers equal generate's, history,
/system, /reset and /exit."""

from __future__ import annotations

import os
import sys

import pexpect
import pytest

from domaintune.eval.generate import generate_ids
from domaintune.models import load_for_eval
from domaintune.templates import render_text


def _expected(adapter, conversations, max_new):
    model, tok = load_for_eval(adapter)
    stops = model.generation_config.eos_token_id
    prompts = [tok(render_text(tok, c, add_generation_prompt=True), add_special_tokens=False)
               ["input_ids"] for c in conversations]  # fmt: skip
    ids = generate_ids(model, prompts, stop_ids=stops, pad_id=stops[0], batch_size=1,
                       max_new_tokens=max_new, show_progress=False)  # fmt: skip
    return [tok.decode(i, skip_special_tokens=True) for i in ids]


def _tty(text):
    return text.replace("\n", "\r\n")  # what the terminal shows for a newline


@pytest.mark.slow  # a CLI start in a pty: ~20 s on the shared machine
def test_chat_in_a_terminal(tiny_model_dir, adapters):
    q1, q2 = "why does the heart pump blood", "and the lungs"
    a1 = _expected(adapters["med"], [[{"role": "user", "content": q1}]], 10)[0]
    a2, a3 = _expected(adapters["med"], [
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": q1},
         {"role": "assistant", "content": a1}, {"role": "user", "content": q2}],
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": q2}],
    ], 10)  # fmt: skip
    assert len({a1, a2, a3}) >= 2  # the conversation changes the answer
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TERM": "dumb"}
    child = pexpect.spawn(sys.executable, ["-m", "domaintune.cli", "chat", str(tiny_model_dir),
                          "--adapter", str(adapters["med"]), "--max-tokens", "10"],
                          env=env, encoding="utf-8", timeout=60)  # fmt: skip
    try:
        child.expect_exact("/exit\r\n> ")
        child.sendline(q1)
        child.expect_exact(_tty(f"{q1}\n{a1}\n> "))
        child.sendline("/system Be brief.")
        child.expect_exact("(system prompt set)\r\n> ")
        child.sendline(q2)
        child.expect_exact(_tty(f"{q2}\n{a2}\n> "))
        child.sendline("/reset")
        child.expect_exact("(history cleared)\r\n> ")
        child.sendline(q2)
        child.expect_exact(_tty(f"{q2}\n{a3}\n> "))
        child.sendline("/exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
