"""Write the bundled preference pairs (Chinese and English medical Q&A, good vs bad answers).

Deterministic (`random.Random(0)`), stdlib only, built from the fact tables of
scripts/make_sample_data.py (written for this project). Each question about a condition
(symptoms, causes, tests, treatment, prevention) gets a chosen answer that states the
condition's own facts and a rejected one with one of four defects, in rotation:
  wrong     - confident facts of a different condition
  repeat    - the first fact repeated in a loop (the degenerate output DPO must not reward)
  dismiss   - unsafe reassurance: nothing to do, no need to see a doctor
  vague     - a short non-answer
Held-out pairs (pref_heldout.jsonl) ask about conditions the training pairs never mention.

    python scripts/make_pref_data.py
"""

from __future__ import annotations

import importlib.util
import json
import os
import random

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "src", "domaintune", "resources", "data")
N_HELDOUT_CONDITIONS = 10  # the last 10 conditions of the table are held out

KINDS = {
    "sym": (
        "{n}有哪些常见症状？",
        "What are the common symptoms of {n}?",
        "{n}的常见症状包括{l}。",
        "Common symptoms of {n} include {l}.",
    ),
    "cause": (
        "{n}的病因和危险因素有哪些？",
        "What causes {n}, and who is at risk?",
        "{n}的常见病因和危险因素有{l}。",
        "Causes and risk factors of {n} include {l}.",
    ),
    "test": (
        "怀疑{n}时需要做哪些检查？",
        "Which tests are used when {n} is suspected?",
        "怀疑{n}时，医生通常安排{l}。",
        "When {n} is suspected, doctors usually order {l}.",
    ),
    "treat": (
        "{n}一般怎么治疗？",
        "How is {n} usually treated?",
        "{n}的治疗包括{l}，并在医生指导下用药。",
        "Treatment of {n} includes {l}, with medicines as a doctor advises.",
    ),
    "prev": (
        "怎样预防{n}？",
        "How can {n} be prevented?",
        "预防{n}可以做到{l}。",
        "Ways to prevent {n} include {l}.",
    ),
}
CLOSE = ("如症状持续或加重，请及时就医。", "If symptoms persist or get worse, see a doctor.")
DISMISS = (
    ["{n}不是什么大问题，过几天自己就好了，不用去医院。", "{n}不用管它，也不需要做任何检查。"],
    [
        "{N} is nothing to worry about; it goes away by itself, no need to see a doctor.",
        "Just ignore {n}; no tests or treatment are ever needed.",
    ],
)
VAGUE = (
    ["这个不好说。", "因人而异吧。", "我也不太清楚。"],
    ["It depends.", "Hard to say.", "Not sure, really."],
)
SYSTEMS = ("你是一名专业的医学助手。", "You are a professional medical assistant.")
DEFECTS = ("wrong", "repeat", "dismiss", "vague")


def load_facts():
    path = os.path.join(ROOT, "scripts", "make_sample_data.py")
    spec = importlib.util.spec_from_file_location("make_sample_data", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.DISEASES


def join(items: list[str], lang: int) -> str:
    if lang == 0:
        return "、".join(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def facts(d: dict, kind: str, lang: int, rng: random.Random) -> list[str]:
    items = [pair[lang] for pair in d[kind]]
    k = min(len(items), rng.randint(2, 3))
    return items[:k]


def answer(d: dict, kind: str, lang: int, items: list[str]) -> str:
    name = d["name"][lang]
    text = KINDS[kind][2 + lang].format(n=name, l=join(items, lang))
    return text[0].upper() + text[1:] + ("" if lang == 0 else " ") + CLOSE[lang]


def rejected(defect: str, d: dict, other: dict, kind: str, lang: int, rng) -> str:
    name = d["name"][lang]
    if defect == "wrong":
        return answer(d, kind, lang, facts(other, kind, lang, rng))
    if defect == "repeat":
        first = d[kind][0][lang]
        sep = "，" if lang == 0 else ", "
        return KINDS[kind][2 + lang].format(n=name, l=sep.join([first] * rng.randint(5, 8)))
    if defect == "dismiss":
        return rng.choice(DISMISS[lang]).format(n=name, N=name[0].upper() + name[1:])
    return rng.choice(VAGUE[lang])


def pairs(diseases: list[dict], rng: random.Random, start: int) -> list[dict]:
    rows, i = [], start
    for d in diseases:
        for kind in KINDS:
            for lang in (0, 1):
                if not d[kind]:
                    continue
                other = rng.choice([x for x in diseases if x is not d and x[kind]])
                defect = DEFECTS[i % len(DEFECTS)]
                i += 1
                row = {
                    "id": f"pref-{i:04d}",
                    "prompt": KINDS[kind][lang].format(n=d["name"][lang]),
                    "chosen": answer(d, kind, lang, facts(d, kind, lang, rng)),
                    "rejected": rejected(defect, d, other, kind, lang, rng),
                    "meta": {"lang": ("zh", "en")[lang], "kind": kind, "defect": defect},
                }
                if rng.random() < 0.3:
                    row["system"] = SYSTEMS[lang]
                rows.append(row)
    rng.shuffle(rows)
    return rows


def write(name: str, rows: list[dict]) -> None:
    path = os.path.join(OUT_DIR, name)
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} rows to {path}")


def main() -> None:
    diseases = load_facts()
    rng = random.Random(0)
    train = pairs(diseases[:-N_HELDOUT_CONDITIONS], rng, 0)
    held = pairs(diseases[-N_HELDOUT_CONDITIONS:], rng, len(train))
    write("pref_pairs.jsonl", train)
    write("pref_heldout.jsonl", held)


if __name__ == "__main__":
    main()
