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


def train_settings(**overrides):
    """TrainSettings for the tiny model's test runs: full fine-tune, constant lr, log every step."""
    from domaintune.train.trainer import TrainSettings

    base = dict(
        method="full",
        learning_rate=3e-3,
        max_steps=12,
        batch_size=4,
        logging_steps=1,
        eval_steps=6,
        save_steps=100,
        warmup_ratio=0.0,
        lr_scheduler="constant",
        seed=7,
    )
    base.update(overrides)
    return TrainSettings(**base)
