"""Finding the TOML presets shipped inside the package (tasks, experiments, recipes), through
`importlib.resources` so that they are found wherever divlab is installed, zipped or not."""

from __future__ import annotations

import tomllib
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from divlab.errors import ConfigError, DataError


def preset_folder(*parts: str) -> Traversable:
    return resources.files("divlab").joinpath("presets", *parts)


def preset_names(*parts: str, recursive: bool = False) -> list[str]:
    """Preset names under presets/<parts>: file names without `.toml` (with sub-folders when recursive)."""
    def walk(folder: Traversable, prefix: str):
        if not folder.is_dir():
            return
        for entry in folder.iterdir():
            if entry.is_dir() and recursive:
                yield from walk(entry, f"{prefix}{entry.name}/")
            elif entry.name.endswith(".toml"):
                yield prefix + entry.name[: -len(".toml")]

    return sorted(walk(preset_folder(*parts), ""))


def read_toml(path: str | Path | Traversable, what: str = "file") -> dict:
    """A TOML file's tables; a bad file is a DataError naming it."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{what} not found: {path}") from None
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except tomllib.TOMLDecodeError as error:
        raise DataError(f"{path}: not valid TOML ({error})") from None


def find_preset(parts: tuple[str, ...], name: str, field: str = "preset") -> tuple[dict, str]:
    """(tables, where) of a shipped preset `name` under presets/<parts>, or of a `.toml` file of one's own."""
    if name.endswith(".toml"):
        path = Path(name)
        if not path.is_file():
            raise ConfigError(field, name, "preset file not found")
        return read_toml(path, field), str(path)
    entry = preset_folder(*parts).joinpath(*f"{name}.toml".split("/"))
    if not entry.is_file():
        known = preset_names(*parts, recursive=True)
        raise ConfigError(field, name, f"unknown {field} of {'/'.join(parts)}; known: {', '.join(known) or 'none'}")
    return read_toml(entry, field), f"{'/'.join(parts)}/{name}"
