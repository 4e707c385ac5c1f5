"""Memory groups under either cgroup version, in a temporary tree laid out as the kernel lays out its
files: what divlab writes where (a machine has one of the two versions; both are checked here)."""

from pathlib import Path

import pytest

from divlab.codeeval import cgroup


@pytest.mark.parametrize("version", ["cgroup v2", "cgroup v1"])
def test_memory_groups_are_made_limited_and_removed_under_either_cgroup_version(tmp_path, monkeypatch, version):
    root = tmp_path / "cgroup"
    if version == "cgroup v2":
        own = root / "user.slice" / "me"
        own.mkdir(parents=True)
        (root / "cgroup.controllers").write_text("cpu memory pids\n")
        (own / "cgroup.subtree_control").write_text("memory pids\n")
        monkeypatch.setattr(cgroup, "_own_cgroup", lambda controller: "/user.slice/me" if controller is None else None)
    else:
        own = root / "memory" / "job"
        own.mkdir(parents=True)
        (root / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
        monkeypatch.setattr(cgroup, "_own_cgroup", lambda controller: "/job" if controller == "memory" else None)
    monkeypatch.setattr(cgroup, "ROOT", root)
    cgroup._base.cache_clear()
    try:
        assert cgroup.memory_scope() == f"whole process tree ({version})"
        real_mkdir = Path.mkdir

        def mkdir_with_files(self, *args, **kwargs):  # the kernel fills a new group with its control files
            real_mkdir(self, *args, **kwargs)
            if self.name.startswith("divlab-") and "probe" not in self.name:
                names = ["memory.max", "memory.swap.max"] if version == "cgroup v2" else [
                    "memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]
                for name in names:
                    (self / name).write_text("max\n" if version == "cgroup v2" else "9223372036854771712\n")

        monkeypatch.setattr(Path, "mkdir", mkdir_with_files)
        group = cgroup.new_group(3 * 2**30)
        if version == "cgroup v2":
            assert (group.path / "memory.max").read_text() == str(3 * 2**30)
            assert (group.path / "memory.swap.max").read_text() == "0"
        else:
            assert (group.path / "memory.limit_in_bytes").read_text() == str(3 * 2**30)
            assert (group.path / "memory.memsw.limit_in_bytes").read_text() == str(3 * 2**30)
            group.limit(2**30)  # lowering: memory first, then memory+swap (v1 keeps memory <= memory+swap)
            assert (group.path / "memory.memsw.limit_in_bytes").read_text() == str(2**30)
        for child in group.path.iterdir():  # a real group's files vanish with it
            child.unlink()
        group.close()
        assert not group.path.exists()
    finally:
        cgroup._base.cache_clear()
