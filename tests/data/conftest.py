"""One Ray instance for the whole test session (Ray starts in ~9 s here): 2 CPUs, a capped object
store kept on disk (as when /dev/shm is small or absent), no dashboard; shut down at the end."""

from __future__ import annotations

import pytest


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
