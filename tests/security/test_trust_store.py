"""The trust store and the persistent cache: private files, never written through a link,
never another program's database."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from aurelis.core.trust import (
    TrustStore,
    UnsafeTrustStore,
    read_project_file,
    trust_store_path,
)
from aurelis.models.persistent_cache import PersistentCache


@pytest.fixture
def settings(tmp_path: Path) -> Path:
    path = tmp_path / "repo" / ".aurelis.toml"
    path.parent.mkdir()
    path.write_text('endpoint = "http://127.0.0.1:9/v1"\n')
    return path


def test_the_store_is_a_private_file_of_its_own(settings: Path) -> None:
    store = TrustStore()
    store.trust(read_project_file(settings))
    path = trust_store_path()
    assert path.name == "trusted-projects.json" and path.parent.name == "aurelis"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp files left
    assert store.trusted_digest(settings.resolve()) == read_project_file(settings).digest


def test_a_planted_symlink_is_neither_read_nor_written_through(
    settings: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.json"
    victim.write_text('{"version": 1, "projects": {}}\n')
    path = trust_store_path()
    path.parent.mkdir(parents=True)
    path.symlink_to(victim)

    with pytest.raises(UnsafeTrustStore, match="symbolic link"):
        TrustStore().trust(read_project_file(settings))
    assert victim.read_text() == '{"version": 1, "projects": {}}\n'
    assert TrustStore().trusted_digest(settings.resolve()) is None


def test_a_store_others_can_write_trusts_nothing(settings: Path) -> None:
    store = TrustStore()
    store.trust(read_project_file(settings))
    trust_store_path().chmod(0o666)
    assert store.trusted_digest(settings.resolve()) is None
    with pytest.raises(UnsafeTrustStore, match="writable by other users"):
        store.entries()


def test_a_damaged_store_trusts_nothing_and_trusting_rewrites_it(settings: Path) -> None:
    path = trust_store_path()
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    path.chmod(0o600)
    store = TrustStore()
    assert store.entries() == {}
    store.trust(read_project_file(settings))
    assert str(settings.resolve()) in store.entries()


def _foreign_database(path: Path) -> bytes:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
    conn.execute("INSERT INTO moz_places (url) VALUES ('https://example.org')")
    conn.commit()
    conn.close()
    return path.read_bytes()


def test_a_symlinked_cache_file_does_not_touch_the_linked_database(tmp_path: Path) -> None:
    victim = tmp_path / "places.sqlite"
    original = _foreign_database(victim)
    victim.chmod(0o644)
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    (cache_dir / "responses.sqlite3").symlink_to(victim)

    cache = PersistentCache(cache_dir / "responses.sqlite3")
    cache.put("k", "v", 1.0, 64)

    assert cache.get("k", min_stored_at=0) is None  # the disk layer switched itself off
    assert victim.read_bytes() == original
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644
    assert (cache_dir / "responses.sqlite3").is_symlink()
    assert sorted(p.name for p in cache_dir.iterdir()) == ["responses.sqlite3"]


def test_a_cache_dir_holding_another_programs_database_leaves_it_alone(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite3"
    original = _foreign_database(path)

    cache = PersistentCache(path)
    cache.put("k", "v", 1.0, 64)

    assert cache.get("k", min_stored_at=0) is None
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["responses.sqlite3"]


def test_a_symlinked_wal_file_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (tmp_path / "responses.sqlite3-wal").symlink_to(victim)

    cache = PersistentCache(tmp_path / "responses.sqlite3")
    cache.put("k", "v", 1.0, 64)

    assert victim.read_bytes() == b"precious"
    assert cache.get("k", min_stored_at=0) is None


def test_our_own_cache_still_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite3"
    first = PersistentCache(path)
    first.put("k", "v", 1.0, 64)
    first.close()
    assert PersistentCache(path).get("k", min_stored_at=0) == "v"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
