from pathlib import Path

from llamos_gateway.lexical.cache import cached


def test_builds_once_then_loads(tmp_path: Path) -> None:
    calls: list[int] = []

    def build() -> dict[str, int]:
        calls.append(1)
        return {"a": 1}

    path = tmp_path / "sub" / "part.marshal"
    assert cached(path, build) == {"a": 1}
    assert cached(path, build) == {"a": 1}
    assert len(calls) == 1 and path.exists()


def test_a_corrupt_file_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "part.marshal"
    path.write_bytes(b"\x00garbage")
    assert cached(path, lambda: [1, 2]) == [1, 2]
    assert cached(path, lambda: [3]) == [1, 2]


def test_an_unwritable_folder_only_costs_the_build(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert cached(blocker / "part.marshal", lambda: "built") == "built"
