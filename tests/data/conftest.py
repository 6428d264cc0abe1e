"""One Ray instance for the whole test session (Ray starts in ~9 s here): 2 CPUs, a capped object
store kept on disk (as when /dev/shm is small or absent), no dashboard; shut down at the end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domaintune.resources import data_path


@pytest.fixture(scope="session")
def ray_instance(tmp_path_factory):
    ray = pytest.importorskip("ray", reason="the ray extra: pip install 'domaintune[ray]'")
    from domaintune.data.ray_engine import object_store_settings

    plasma = tmp_path_factory.mktemp("plasma")
    # a missing /dev/shm: the settings put the object store on disk
    settings = object_store_settings(plasma / "no-shm", store_bytes=300 * 2**20)
    assert settings["_plasma_directory"]
    settings["_plasma_directory"] = str(plasma)
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, **settings)
    yield ray
    ray.shutdown()


@pytest.fixture
def planted_copies(tmp_path: Path) -> tuple[Path, set[str]]:
    """The bundled medical corpus with its planted exact and near copies (from the raw crawl),
    which sit hundreds of rows after their originals: in other blocks."""
    listing = json.loads(data_path("raw_manifest.json").read_text())
    planted = {k: set(v["ids"]) for k, v in listing["planted"].items()}
    copies = planted["exact_duplicate"] | planted["near_duplicate"]
    names = ("domain_corpus_zh.jsonl", "domain_corpus_en.jsonl", "raw/crawl.jsonl")
    lines = [ln for n in names for ln in data_path(n).read_text(encoding="utf-8").split("\n")]
    rows = [r for r in map(json.loads, filter(None, lines)) if r["id"].startswith("med-")]
    rows = [r for r in rows if "url" not in r or r["id"] in copies]
    src = tmp_path / "docs.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return src, copies
