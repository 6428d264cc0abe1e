"""Test helpers shared across test modules (importable: tests/ is on pytest's pythonpath)."""

from __future__ import annotations

import random

WORDS = [
    "the",
    "heart",
    "pumps",
    "blood",
    "through",
    "arteries",
    "and",
    "veins",
    "while",
    "the",
    "lungs",
    "exchange",
    "oxygen",
    ".",
    "patients",
    "with",
    "hypertension",
    "take",
    "medicine",
    "every",
    "day",
    ";",
    "doctors",
    "measure",
    "blood",
    "pressure",
    ".",
    "心脏",
    "把",
    "血液",
    "泵",
    "到",
    "全身",
    "，",
    "肺",
    "负责",
    "交换",
    "氧气",
    "。",
    "高血压",
    "患者",
    "需要",
    "每天",
    "服药",
    "，",
    "医生",
    "测量",
    "血压",
    "。",
]


def make_texts(n: int, seed: int = 0, lo: int = 10, hi: int = 120) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi))) for _ in range(n)]
