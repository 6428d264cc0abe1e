"""Deterministic teacher replies for the scripted server: one rule per synth prompt kind.

Loaded by scripted_server.py (`"responder": "<this file>:reply"`). Replies are plausible JSON
built from the prompt, with planted faults the filters must catch: a QA quote that is not in the
passage, a self-instruct task copied from a seed, a paraphrase equal to its original.
"""

from __future__ import annotations

import hashlib
import json
import re

from domaintune.text import HAN_RE

_ZH = "山水花鸟风云日月星河江湖海天地人心书画诗酒茶琴棋剑春夏秋冬东西南北金木火土"
_EN = [
    "river",
    "stone",
    "cloud",
    "light",
    "field",
    "north",
    "market",
    "table",
    "window",
    "garden",
    "paper",
    "silver",
    "winter",
    "summer",
    "bridge",
    "harbor",
    "mountain",
    "letter",
    "forest",
    "signal",
]


def _h(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest(), 16)


def fake_translate(text: str, target: str) -> str:
    """Word for word by hash: latin words become two CJK characters, CJK characters a word."""
    if target == "zh":
        words = re.findall(r"[A-Za-z0-9]+", text) or [text]
        return "".join(_ZH[_h(w) % len(_ZH)] + _ZH[_h(w + "#") % len(_ZH)] for w in words) + "。"
    chars = HAN_RE.findall(text) or [text]
    return " ".join(_EN[_h(c) % len(_EN)] for c in chars).capitalize() + "."


def _between(text: str, start: str) -> str:
    return text.split(start, 1)[1].strip()


def _qa(user: str, zh: bool) -> str:
    passage = _between(user, "[材料]" if zh else "[Passage]")
    n = int(re.search(r"写出 (\d+)|write (\d+)", user).group(1 if zh else 2))
    sentences = [s.strip() for s in re.split(r"(?<=[。.!?！？])\s*", passage) if s.strip()]
    items = []
    for i, s in enumerate(sentences[:n]):
        topic = s[:6] if zh else " ".join(s.split()[:3])
        q = f"材料中关于“{topic}”说了什么？" if zh else f"What does the passage say about {topic}?"
        quote = s if i != 2 else "a sentence that is not in the passage"
        dim = "reasoning" if i % 2 else "knowledge"
        items.append({"question": q, "answer": f"{s}（据材料）" if zh else f"It says: {s}",
                      "quote": quote, "dimension": dim})  # fmt: skip
    return "```json\n" + json.dumps(items, ensure_ascii=False) + "\n```"


def _self_instruct(user: str, zh: bool) -> str:
    n = int(re.search(r"请新写 (\d+)|Come up with (\d+)", user).group(1 if zh else 2))
    category = re.search(r"「(.+?)」|category \"(.+?)\"", user).group(1 if zh else 2)
    first_seed = re.search(r"^1\. (.*)$", user, re.MULTILINE).group(1)
    key = _h(user)
    items = []
    for i in range(n):
        if i == 1:  # a lightly reworded seed: the novelty filter must reject it
            items.append({"instruction": first_seed + ("。" if zh else "."),
                          "output": "见上文。" if zh else "See above, in detail."})  # fmt: skip
            continue
        words = [_EN[(key >> (8 * j + i)) % len(_EN)] for j in range(6)]
        if zh:
            topic = "".join(_ZH[(key >> (5 * j + i)) % len(_ZH)] for j in range(8))
            items.append({"instruction": f"请完成一个{category}任务：关于{topic}的第{i}题",
                          "output": f"这是关于{topic}的详细回答，分三点说明。"})  # fmt: skip
        else:
            task = f"Do a {category} task about {' '.join(words)}, part {i}"
            answer = f"Here is a careful answer on {words[0]} and {words[1]}."
            items.append({"instruction": task, "output": answer})
    return json.dumps(items, ensure_ascii=False)


def _adversarial(user: str, zh: bool) -> str:
    n = int(re.search(r"新写 (\d+)|Write (\d+) new", user).group(1 if zh else 2))
    spot = re.search(r"「(.+?)」|failing on \"(.+?)\"", user).group(1 if zh else 2)
    key = _h(user)
    items = []
    for i in range(n):
        words = [_EN[(key >> (7 * j + i)) % len(_EN)] for j in range(5)]
        if zh:
            topic = "".join(_ZH[(key >> (5 * j + i)) % len(_ZH)] for j in range(8))
            items.append({"instruction": f"针对{spot}：若{topic}同时出现，应如何处理？",
                          "output": f"需要分步分析{topic}，先核对前提再计算。"})  # fmt: skip
        else:
            task = f"On {spot}: what if {' '.join(words)} all apply?"
            items.append({"instruction": task, "output": f"Check the premise, weigh {words[0]}."})
    return json.dumps(items, ensure_ascii=False)


def _mine(user: str, zh: bool) -> str:
    page = _between(user, "[页面]" if zh else "[Page]")
    lines = [x.strip() for x in page.splitlines() if x.strip()]
    pairs = [{"question": q, "answer": a} for q, a in zip(lines, lines[1:], strict=False)
             if q.endswith(("?", "？")) and not a.endswith(("?", "？"))]  # fmt: skip
    # an answer that is not on the page: rejected as answer_not_in_page
    pairs.append({"question": "Is there more?", "answer": "Invented text not on the page."})
    return json.dumps(pairs, ensure_ascii=False)


def _paraphrase(user: str, zh: bool) -> str:
    original = _between(user, "[请求]" if zh else "[Request]")
    n = int(re.search(r"改写成 (\d+)|in (\d+) different", user).group(1 if zh else 2))
    styles = ["劳驾，", "简单说：", "我是一名学生，想问：", "直接问："] if zh else [
        "Kindly, could you do this for me at work today:", "In short:",
        "As a student preparing an exam, I ask:", "Directly:"]  # fmt: skip
    out = [original]  # the first rewording equals the original: rejected as a near duplicate
    out += [f"{styles[i % len(styles)]} {fake_translate(original, 'zh' if zh else 'en')}"
            for i in range(1, n)]  # fmt: skip
    return json.dumps(out, ensure_ascii=False)


def _translate(user: str, zh: bool) -> str:
    texts = json.loads(user[user.index("[") :])
    return json.dumps([fake_translate(t, "zh" if zh else "en") for t in texts], ensure_ascii=False)


def reply(messages: list[dict[str, str]], body: dict) -> str:
    """The reply content for one request."""
    user = messages[-1]["content"]
    if "An evaluation shows" in user or "评测显示" in user:
        return _adversarial(user, "评测显示" in user)
    if "[Passage]" in user or "[材料]" in user:
        return _qa(user, "[材料]" in user)
    if "Come up with" in user or "请新写" in user:
        return _self_instruct(user, "请新写" in user)
    if "[Page]" in user or "[页面]" in user:
        return _mine(user, "[页面]" in user)
    if "[Request]" in user or "[请求]" in user:
        return _paraphrase(user, "[请求]" in user)
    if "Translate each text" in user or "译成中文" in user:
        return _translate(user, "译成中文" in user)
    return f"echo: {user}"
