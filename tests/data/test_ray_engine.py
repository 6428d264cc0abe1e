"""`--engine ray` writes exactly what `--engine local` writes: clean, dedup, decontaminate, stats.

One Ray instance serves the session (tests/data/conftest.py); inputs are cut into small chunks
and windows so that each runs as several Ray Data blocks, and duplicates sit in different blocks.
The tests that start Ray are slow (`make test-slow`); the default run has the two below without
Ray, and benchmarks/dedup_scale.py --smoke (tests/test_benchmarks.py) compares the engines' bytes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from domaintune.data.ray_engine import INSTALL_HINT, RayEngine, object_store_settings
from domaintune.resources import data_path


def _bytes(*paths: Path) -> list[bytes]:
    return [p.read_bytes() for p in paths]


def _report(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_object_store_goes_to_disk_when_shm_is_small_or_absent(tmp_path, monkeypatch):
    monkeypatch.delenv("RAY_OBJECT_STORE_ALLOW_SLOW_STORAGE", raising=False)
    roomy = object_store_settings(tmp_path, store_bytes=1 << 20)  # tmp has > 1.2 MiB free
    assert roomy == {"object_store_memory": 1 << 20}
    import os

    assert "RAY_OBJECT_STORE_ALLOW_SLOW_STORAGE" not in os.environ
    absent = object_store_settings(tmp_path / "no-such-shm", store_bytes=1 << 20)
    assert absent["object_store_memory"] == 1 << 20 and absent["_plasma_directory"]
    assert os.environ["RAY_OBJECT_STORE_ALLOW_SLOW_STORAGE"] == "1"
    huge = object_store_settings(tmp_path, store_bytes=1 << 60)  # more than any disk holds
    assert "_plasma_directory" in huge


def test_without_ray_engine_ray_says_how_to_install(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from domaintune.cli import app
    from domaintune.data.ray_engine import require_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ImportError, match=r"pip install 'domaintune\[ray\]'"):
        require_ray()
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "a b c"}\n', encoding="utf-8")
    for verb in (["clean"], ["dedup"], ["stats"], ["decontaminate", "--against", str(src)]):
        out = [str(tmp_path / "out.jsonl")] if verb[0] != "stats" else []
        res = CliRunner().invoke(
            app, ["data", verb[0], str(src), *out, *verb[1:], "--engine", "ray"]
        )
        assert res.exit_code == 1, (verb, res.output)
        assert INSTALL_HINT in res.output
    assert not (tmp_path / "out.jsonl").exists()
    res = CliRunner().invoke(app, ["data", "dedup", str(src), str(tmp_path / "o.jsonl"),
                                   "--address", "auto"])  # fmt: skip
    assert res.exit_code == 2 and "--engine ray" in res.output
    res = CliRunner().invoke(app, ["data", "clean", str(src), str(tmp_path / "o.jsonl"),
                                   "--num-cpus", "2"])  # fmt: skip
    assert res.exit_code == 2 and "--num-cpus is for the Ray engine" in res.output


def _site_pages() -> list[Path]:
    """40 article pages, the planted navigation-only and too-short pages: kept and rejected."""
    listing = json.loads(data_path("raw_manifest.json").read_text())
    planted = {k: v["ids"] for k, v in listing["planted"].items()}
    site = sorted(data_path("raw").joinpath("site").glob("med-*.html"))[:40]
    junk = [data_path("raw") / f"{i}.html" for i in sorted(planted["navigation_only"])]
    return site + junk + [data_path("raw") / f"{i}.txt" for i in sorted(planted["too_short"])]


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_clean_on_ray_equals_local(tmp_path, ray_instance, workers):
    from domaintune.data.clean import clean_file

    pages = _site_pages()
    outs = {}
    for name, engine in (("local", None), ("ray", RayEngine(workers=workers, chunk_size=8))):
        d = tmp_path / name
        summary = clean_file(pages, d / "out.jsonl", rejects=d / "rej.jsonl",
                             report=d / "report.json", engine=engine)  # fmt: skip
        outs[name] = (summary, d)
    (local, dl), (ray, dr) = outs["local"], outs["ray"]
    assert local.counts.read == len(pages) == ray.counts.read
    assert local.counts.rejected > 0 and local.counts.kept >= 36
    assert ray.counts.to_dict() == local.counts.to_dict()
    assert _bytes(dr / "out.jsonl", dr / "rej.jsonl") == _bytes(dl / "out.jsonl", dl / "rej.jsonl")
    assert _report(dr / "report.json") == _report(dl / "report.json")


# Slow: Ray's start-up and first job alone take 15-30 s here. The default run checks Ray's
# output against the local engine's through benchmarks/dedup_scale.py --smoke (it exits non-zero
# when the four engines' outputs differ), run by tests/test_benchmarks.py.
@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_dedup_on_ray_keeps_exactly_what_local_keeps(
    tmp_path, ray_instance, planted_copies, workers
):
    from domaintune.data.dedup import dedup_documents

    src, copies = planted_copies
    runs = {}
    for name, engine in (("local", None), ("ray", RayEngine(workers=workers, chunk_size=32))):
        d = tmp_path / name
        result = dedup_documents(src, d / "out.jsonl", rejects=d / "rej.jsonl",
                                 clusters=d / "clusters.jsonl", report=d / "report.json",
                                 engine=engine)  # fmt: skip
        runs[name] = (result, d)
    (local, dl), (ray, dr) = runs["local"], runs["ray"]
    assert local.counts.rejected_by_reason == {"exact_duplicate": 57, "near_duplicate": 33}
    assert ray.counts.to_dict() == local.counts.to_dict()
    files = ("out.jsonl", "rej.jsonl", "clusters.jsonl", "report.json")
    assert _bytes(*(dr / f for f in files)) == _bytes(*(dl / f for f in files))
    rejects = [json.loads(ln) for ln in (dr / "rej.jsonl").open(encoding="utf-8")]
    pairs = {frozenset((r["row"]["id"], r["value"]["kept_id"])) for r in rejects}
    original = {c: c.rsplit("-mirror", 1)[0].rsplit("-edited", 1)[0] for c in copies}
    assert pairs == {frozenset((c, original[c])) for c in copies}  # 90 pairs, nothing else


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_band_buckets_grouped_on_ray_equal_numpy(ray_instance, workers):
    from domaintune.data.minhash import band_pairs
    from domaintune.data.ray_dedup import band_pairs_on_ray

    rng = np.random.default_rng(7)
    sigs = rng.integers(0, 4, (5000, 16)).astype(np.uint32)  # values 0-3: buckets of many texts
    expected = band_pairs(sigs, 8, 2)
    assert len(expected) > 20000  # large buckets: leaders must agree across partitions
    got = band_pairs_on_ray(sigs, 8, 2, workers=workers, texts_per_task=512)  # 10 map tasks
    assert np.array_equal(got, expected)


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_decontaminate_and_stats_on_ray_equal_local(tmp_path, ray_instance, workers):
    from domaintune.data.decontaminate import build_index, decontaminate_file
    from domaintune.data.stats import corpus_stats
    from domaintune.io import read_documents

    src = data_path("domain_corpus_en.jsonl")
    index = build_index([data_path("mcq_domain.jsonl"), data_path("heldout_domain.jsonl")])
    runs = {}
    for name, engine in (("local", None), ("ray", RayEngine(workers=workers, chunk_size=64))):
        d = tmp_path / name
        counts, hits = decontaminate_file(src, d / "out.jsonl", index, rejects=d / "rej.jsonl",
                                          report=d / "report.json", engine=engine)  # fmt: skip
        stats = corpus_stats(read_documents(src), engine=engine)
        runs[name] = (counts, hits, stats, d)
    (lc, lh, ls, dl), (rc, rh, rs, dr) = runs["local"], runs["ray"]
    assert lc.read == 426 and lc.rejected > 0  # the held-out pages were copied into the corpus
    assert (rc.to_dict(), rh, rs) == (lc.to_dict(), lh, ls)
    files = ("out.jsonl", "rej.jsonl", "report.json")
    assert _bytes(*(dr / f for f in files)) == _bytes(*(dl / f for f in files))


@pytest.mark.slow
def test_interrupted_ray_run_leaves_nothing_and_a_rerun_restarts(
    tmp_path, ray_instance, planted_copies
):
    """A bad row 300 lines in stops the run after Ray has returned earlier windows: no output,
    rejects, report or temp file is left; the fixed input then gives the local engine's bytes."""
    from domaintune.data.dedup import dedup_documents
    from domaintune.records import DataError

    src, _ = planted_copies
    good = src.read_text(encoding="utf-8").split("\n")
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(good[:300] + ["{not json"] + good[300:]), encoding="utf-8")
    out = tmp_path / "ray"
    engine = RayEngine(workers=2, chunk_size=32, window_bytes=64 << 10)
    with pytest.raises(DataError, match="broken.jsonl.*301"):
        dedup_documents(broken, out / "out.jsonl", rejects=out / "rej.jsonl",
                        report=out / "report.json", engine=engine)  # fmt: skip
    assert not out.exists() or list(out.iterdir()) == []
    broken.write_text("\n".join(good), encoding="utf-8")
    dedup_documents(broken, out / "out.jsonl", rejects=out / "rej.jsonl",
                    report=out / "report.json", engine=engine)  # fmt: skip
    dedup_documents(src, tmp_path / "local.jsonl")
    assert (out / "out.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert sorted(p.name for p in out.iterdir()) == ["out.jsonl", "rej.jsonl", "report.json"]


@pytest.mark.slow
def test_recipe_stages_on_ray_write_the_local_files_and_engine_is_volatile(
    tmp_path, ray_instance, planted_copies
):
    """clean -> dedup -> decontaminate with `engine: ray` (the session's Ray): the local run's
    files; then switching the engine back reruns nothing (it never changes what is kept)."""
    from domaintune.io import read_manifest
    from domaintune.pipeline import run_recipe
    from domaintune.recipes import parse_recipe

    src, _ = planted_copies
    pages = [str(p) for p in _site_pages()[:6]]

    def recipe(out: str, engine: str):
        stages = [
            {"name": "clean", "type": "clean", "data": [{"path": p} for p in pages]},
            {"name": "dedup", "type": "dedup", "data": [{"path": str(src)}]},
            {"name": "decon", "type": "decontaminate", "data": [{"from": "dedup"}],
             "against": [{"path": str(data_path("heldout_domain.jsonl"))}]},
        ]  # fmt: skip
        for stage in stages:
            stage["engine"] = engine
        raw = {"name": "r", "output_dir": str(tmp_path / out), "stages": stages,
               "model": {"path": str(tmp_path / "no-model-needed")}}  # fmt: skip
        return parse_recipe(raw)

    ray_counts = run_recipe(recipe("ray", "ray"))
    local_counts = run_recipe(recipe("local", "local"))
    assert ray_counts == local_counts
    assert ray_counts["dedup"]["rejected"] == 90
    for stage in ("clean", "dedup", "decon"):
        for name in ("data.jsonl", "rejects.jsonl"):
            ray_bytes = (tmp_path / "ray" / stage / name).read_bytes()
            assert ray_bytes == (tmp_path / "local" / stage / name).read_bytes(), (stage, name)
    created = {s: read_manifest(tmp_path / "ray" / s)["created_at_ns"] for s in ray_counts}
    run_recipe(recipe("ray", "local"))
    assert {s: read_manifest(tmp_path / "ray" / s)["created_at_ns"] for s in created} == created


def _mixed_folder(tmp_path: Path, src: Path) -> Path:
    """The planted-copies corpus as a JSONL file without some ids, a .jsonl.gz and a Parquet
    file of several row groups: what the Ray workers read themselves."""
    import gzip

    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [json.loads(ln) for ln in src.read_text(encoding="utf-8").splitlines()]
    for r in rows[::4]:
        del r["id"]  # ids from the line number: equal only if the lines are numbered as locally
    folder = tmp_path / "mixed"
    folder.mkdir()
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[:300])
    (folder / "a.jsonl").write_text(text, encoding="utf-8")
    gz = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[300:500])
    (folder / "b.jsonl.gz").write_bytes(gzip.compress(gz.encode("utf-8")))
    tail = [{"id": r.get("id", f"pq-{i}"), "text": r["text"]} for i, r in enumerate(rows[500:])]
    pq.write_table(pa.Table.from_pylist(tail), folder / "c.parquet", row_group_size=50)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_workers_read_jsonl_ranges_gz_and_parquet_from_a_uri(
    tmp_path, ray_instance, planted_copies, workers
):
    """`file://` URI of a folder, JSONL cut into ~64 KB ranges: Ray's workers read it all, and
    dedup, clean and decontaminate write the local engine's bytes (read from the plain path)."""
    from domaintune.data.clean import clean_file
    from domaintune.data.decontaminate import build_index, decontaminate_file
    from domaintune.data.dedup import dedup_documents

    folder = _mixed_folder(tmp_path, planted_copies[0])
    engine = RayEngine(workers=workers, piece_bytes=64 << 10, window_bytes=256 << 10)
    pieces = engine.map_pieces(lambda chunk: [len(chunk)], folder)
    assert pieces is not None and sum(pieces) > 10  # more than 10 map tasks read it
    index = build_index([data_path("heldout_domain.jsonl")])
    for name, path, eng in (("local", folder, None), ("ray", f"file://{folder}", engine)):
        d = tmp_path / name
        dedup_documents(path, d / "dedup.jsonl", rejects=d / "dedup-rej.jsonl", engine=eng)
        clean_file(path, d / "clean.jsonl", rejects=d / "clean-rej.jsonl", engine=eng)
        decontaminate_file(path, d / "decon.jsonl", index, rejects=d / "decon-rej.jsonl",
                           engine=eng)  # fmt: skip
    files = sorted(p.name for p in (tmp_path / "local").iterdir())
    assert len(files) == 6
    assert _bytes(*(tmp_path / "ray" / f for f in files)) == _bytes(
        *(tmp_path / "local" / f for f in files)
    )
    rejected = (tmp_path / "local" / "dedup-rej.jsonl").read_text(encoding="utf-8").count("\n")
    assert rejected == 90  # the planted copies, across the three files
    from domaintune.data.stats import corpus_stats
    from domaintune.io import read_documents

    local_stats = corpus_stats(read_documents(folder))
    import pyarrow.parquet as pq

    parquet_rows = pq.read_metadata(folder / "c.parquet").num_rows
    assert local_stats["documents"] == 300 + 200 + parquet_rows and parquet_rows > 100
    assert corpus_stats(f"file://{folder}", engine=engine) == local_stats  # read by the workers


@pytest.mark.slow
def test_a_bad_row_read_by_a_worker_is_reported_as_locally(tmp_path, ray_instance, planted_copies):
    from domaintune.data.dedup import dedup_documents
    from domaintune.records import DataError

    src, _ = planted_copies
    good = src.read_text(encoding="utf-8").split("\n")
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(good[:700] + ['{"text": 5}'] + good[700:]), encoding="utf-8")
    with pytest.raises(DataError) as local:
        dedup_documents(broken, tmp_path / "local.jsonl")
    engine = RayEngine(workers=2, piece_bytes=32 << 10)
    with pytest.raises(DataError) as ray:
        dedup_documents(broken, tmp_path / "ray" / "out.jsonl", engine=engine)
    assert str(ray.value) == str(local.value) and ray.value.line == 701
    assert not (tmp_path / "ray").exists() or list((tmp_path / "ray").iterdir()) == []


@pytest.mark.slow
def test_workers_read_from_s3_as_locally(tmp_path, ray_instance, planted_copies):
    """A real S3 endpoint (moto's server on 127.0.0.1, started and stopped here): dedup of the
    mixed folder read from s3:// by the workers writes the local engine's bytes."""
    pytest.importorskip("moto", reason="moto[server] for an S3 endpoint on 127.0.0.1")
    import socket

    from moto.server import ThreadedMotoServer
    from pyarrow import fs

    from domaintune.data.dedup import dedup_documents

    folder = _mixed_folder(tmp_path, planted_copies[0])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        # moto's fake credentials; real ones come from the environment, never the URI
        options = f"endpoint_override=127.0.0.1:{port}&scheme=http&region=us-east-1"
        s3, _ = fs.FileSystem.from_uri(
            f"s3://testing:testing@corpus?{options}&allow_bucket_creation=true"
        )
        s3.create_dir("corpus")
        for f in sorted(folder.iterdir()):
            with s3.open_output_stream(f"corpus/in/{f.name}", compression=None) as out:
                out.write(f.read_bytes())
        engine = RayEngine(workers=2, piece_bytes=64 << 10)
        ray_out = tmp_path / "ray"
        dedup_documents(f"s3://testing:testing@corpus/in/?{options}", ray_out / "out.jsonl",
                        rejects=ray_out / "rej.jsonl", engine=engine)  # fmt: skip
    finally:
        server.stop()
    local = tmp_path / "local"
    dedup_documents(folder, local / "out.jsonl", rejects=local / "rej.jsonl")
    assert (local / "rej.jsonl").read_text(encoding="utf-8").count("\n") == 90
    assert _bytes(ray_out / "out.jsonl", ray_out / "rej.jsonl") == _bytes(
        local / "out.jsonl", local / "rej.jsonl"
    )


@pytest.mark.slow
def test_sharded_ray_output_concatenates_to_the_local_single_file(
    tmp_path, ray_instance, planted_copies
):
    from domaintune.data.clean import clean_file
    from domaintune.data.dedup import dedup_documents

    src, _ = planted_copies
    engine = RayEngine(workers=2, piece_bytes=64 << 10)
    dedup_documents(src, tmp_path / "local.jsonl")
    dedup_documents(src, tmp_path / "ray", shards=4, engine=engine)
    clean_file(src, tmp_path / "clean-local.jsonl")
    clean_file(src, f"{tmp_path}/clean-ray/", engine=engine)  # "/": a folder, one part
    for folder, single, n in (("ray", "local.jsonl", 4), ("clean-ray", "clean-local.jsonl", 1)):
        parts = sorted((tmp_path / folder).glob("part-*.jsonl"))
        assert len(parts) == n and (tmp_path / folder / "_SUCCESS").exists()
        assert b"".join(p.read_bytes() for p in parts) == (tmp_path / single).read_bytes()


@pytest.mark.slow
def test_cli_reads_a_uri_on_ray_and_writes_parts_equal_to_local(
    tmp_path, ray_instance, planted_copies
):
    """`data dedup file://... OUT/ --engine ray --shards 3` from the command line (the session's
    Ray connection): the parts concatenate to the local engine's single file."""
    from typer.testing import CliRunner

    from domaintune.cli import app

    src, _ = planted_copies
    runner = CliRunner()
    res = runner.invoke(app, ["data", "dedup", str(src), str(tmp_path / "local.jsonl")])
    assert res.exit_code == 0, res.output
    args = ["data", "dedup", f"file://{src}", f"{tmp_path}/ray/", "--engine", "ray"]
    res = runner.invoke(app, [*args, "--shards", "3"])
    assert res.exit_code == 0, res.output
    parts = sorted((tmp_path / "ray").glob("part-*.jsonl"))
    assert len(parts) == 3 and (tmp_path / "ray" / "_SUCCESS").exists()
    assert b"".join(p.read_bytes() for p in parts) == (tmp_path / "local.jsonl").read_bytes()
