"""Shared fixtures: a small valid dataset written by hand, in the standard layout."""

from __future__ import annotations

from pathlib import Path

import pytest
from neo4j_fixtures import neo4j_driver, neo4j_settings  # noqa: F401

BASE = {
    "shops.csv": (
        "shop_id,name,created_at,status,banned_at,ban_reason,category,rating\n"
        "S1,Nike潮牌店,2025-01-02,banned,2025-06-01,counterfeit,shoes,4.1\n"
        "S2,好运百货,2025-02-03T10:00:00,active,,,home,\n"
        "S3,Lucky Goods Store,2025-07-01,active,,,toys,3.9\n"
    ),
    "accounts.csv": (
        "account_id,shop_id,holder_name,id_number,phone,email,created_at\n"
        "A1,S1,张伟,110101199003074514,+86 138-0013-8000,zw@qq.com,2025-01-01\n"
        "A2,S2,王芳,,13900139000,,\n"
        "A3,S3,Zhang Wei,,+86 13800138000,z.w+shop@qq.com,2025-06-30\n"
    ),
    "devices.csv": (
        "account_id,device_id,ip,seen_at\n"
        "A1,D-88,10.1.2.3,2025-03-01\n"
        "A3,D-88,,2025-07-02T08:00:00\n"
        "A2,,100.64.0.1,2025-02-05\n"
    ),
    "addresses.csv": (
        "shop_id,address,lat,lon,first_seen\n"
        "S1,杭州市余杭区文一西路998号5号楼302室,30.27,120.02,2025-01-02\n"
        "S3,浙江省杭州市余杭区文一西路998号五幢303室,,,2025-07-01\n"
    ),
    "payments.csv": (
        "shop_id,method,endpoint,holder_name,first_seen\n"
        "S1,bank,6222021234567891234,张伟,2025-01-02\n"
        "S3,bank,6222****1234,张伟,2025-07-01\n"
    ),
    "disputes.csv": "shop_id,opened_at,reason\nS1,2025-05-01,counterfeit\n",
    "test_buys.csv": "shop_id,bought_at,verdict\nS1,2025-05-10,fake\nS2,2025-05-11,genuine\n",
}


def benchmark_module(name: str):
    """``benchmarks/<name>.py`` imported as a module (the benchmarks are scripts, no package)."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_dataset(folder: Path, files: dict[str, str], encoding: str = "utf-8") -> Path:
    """Write ``files`` (name -> text; None removes a file) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        if text is not None:
            (folder / name).write_bytes(text.encode(encoding))
    return folder


@pytest.fixture
def small_dataset(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "ds", BASE)


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> Path:
    """A small generated marketplace (with ground truth in ``<world>.truth``)."""
    from graphlink.synth.generate import generate_world

    out = tmp_path_factory.mktemp("worlds") / "world"
    generate_world(out, shops=400, seed=3)
    return out


@pytest.fixture(scope="session")
def analysis(world):
    import graphlink as gl

    return gl.analyse(world)
