"""Find installed modules by name and version without importing them.

A module is a folder holding ``module.py`` with one class decorated by ``@moduleinfo(...)``.
Its metadata is read with ``ast`` so that finding a module never imports a DL framework.
Modules live in the package (built-ins), under ``$HUB_HOME/modules/<name>[/<version>]/``, and in Python
packages that declare an entry point in the ``hubserving.modules`` group whose value names the package
holding ``module.py`` (``my_module = "my_module"``); the package is located, not imported.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import importlib.util
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from hubserving.errors import ModuleNotFound
from hubserving.module.decorators import ModuleInfo
from hubserving.module.requirement import Requirement, newest_matching
from hubserving.paths import HubHome

MODULE_FILE = "module.py"
BUILTIN_DIR = Path(__file__).resolve().parent.parent / "modules"
ENTRY_POINT_GROUP = "hubserving.modules"
FOLDER_HOOK = "folder"  # a built-in module with ``folder.py`` can serve folders of model files


@dataclass(frozen=True)
class ModuleSource:
    """A module found on disk: its metadata and the folder it lives in."""

    info: ModuleInfo
    directory: Path
    builtin: bool = False
    package: str | None = None  # the Python distribution whose entry point provides it
    served_folder: Path | None = None  # a folder of model files this (built-in) module serves
    init_args: Mapping[str, Any] = field(default_factory=dict)  # what serving that folder takes

    @property
    def version(self) -> Version:
        return Version(self.info.version)

    def __str__(self) -> str:
        return f"{self.info.name}=={self.info.version}"


class ModuleFileError(Exception):
    """A ``module.py`` that cannot be read as a hubserving module."""


def read_module_info(directory: Path) -> ModuleInfo:
    """The ``@moduleinfo(...)`` arguments of ``directory/module.py``, read statically."""
    path = directory / MODULE_FILE
    if not path.is_file():
        raise ModuleFileError(f"{directory} has no {MODULE_FILE}: a module folder needs one")
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError) as error:
        raise ModuleFileError(f"{path} cannot be parsed: {error}") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for decorator in node.decorator_list:
                if _is_moduleinfo_call(decorator):
                    return _info_from_call(decorator, path)  # type: ignore[arg-type]
    raise ModuleFileError(f"{path} has no class decorated with @moduleinfo(name=..., version=...)")


def _is_moduleinfo_call(node: ast.expr) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id == "moduleinfo") or (
        isinstance(func, ast.Attribute) and func.attr == "moduleinfo"
    )


def _info_from_call(call: ast.Call, path: Path) -> ModuleInfo:
    fields: dict[str, str] = {}
    for keyword in call.keywords:
        try:
            value = ast.literal_eval(keyword.value)
        except ValueError:
            raise ModuleFileError(f"{path}: @moduleinfo({keyword.arg}=...) must be a plain string") from None
        if keyword.arg is not None:
            fields[keyword.arg] = str(value)
    for key in ("name", "version"):
        if not fields.get(key):
            raise ModuleFileError(f"{path}: @moduleinfo needs {key}=...")
    try:
        Version(fields["version"])
    except InvalidVersion:
        raise ModuleFileError(f"{path}: version {fields['version']!r} is not a version like 1.0.0") from None
    known = {"name", "version", "summary", "author", "author_email", "type"}
    return ModuleInfo(**{key: value for key, value in fields.items() if key in known})


def _candidate_dirs(root: Path) -> Iterator[Path]:
    """``root/<name>/module.py`` and ``root/<name>/<version>/module.py``."""
    if not root.is_dir():
        return
    for entry in sorted(root.iterdir()):
        if not entry.is_dir() or entry.name.startswith((".", "_")):
            continue
        if (entry / MODULE_FILE).is_file():
            yield entry
        for sub in sorted(entry.iterdir()):
            if sub.is_dir() and (sub / MODULE_FILE).is_file():
                yield sub


@dataclass
class Catalog:
    """Every module found, and the folders that looked like modules but could not be read."""

    sources: list[ModuleSource]
    problems: list[str]

    def resolve(self, requirement: Requirement) -> ModuleSource:
        """The newest module matching ``requirement``, or ModuleNotFound that lists what exists."""
        same_name = [source for source in self.sources if source.info.name == requirement.name]
        newest = newest_matching(requirement, same_name, lambda s: s.version, lambda s: not s.builtin)
        if newest is not None:
            return newest
        if same_name:
            versions = ", ".join(sorted({s.info.version for s in same_name}))
            raise ModuleNotFound(
                f"Module {requirement} is not installed; installed versions of {requirement.name}: {versions}"
            )
        raise ModuleNotFound(f"Module {requirement.name} is not installed. {self.describe()}")

    def describe(self) -> str:
        installed = ", ".join(sorted({str(source) for source in self.sources})) or "none"
        text = f"Installed modules: {installed}."
        if self.problems:
            text += " Unreadable module folders: " + "; ".join(self.problems)
        return text


def discover(roots: Iterable[tuple[Path, bool]], entry_point_group: str | None = None) -> Catalog:
    """Scan ``(folder, is_builtin)`` roots for modules, then the packages of an entry-point group."""
    catalog = Catalog([], [])
    for root, builtin in roots:
        for directory in _candidate_dirs(root):
            try:
                catalog.sources.append(ModuleSource(read_module_info(directory), directory, builtin))
            except ModuleFileError as error:
                catalog.problems.append(str(error))
    if entry_point_group is not None:
        for entry in importlib.metadata.entry_points(group=entry_point_group):
            package = entry.dist.name if entry.dist is not None else entry.value
            try:
                directory = _package_dir(entry.value)
                catalog.sources.append(ModuleSource(read_module_info(directory), directory, False, package))
            except ModuleFileError as error:
                catalog.problems.append(f"entry point {entry.name} = {entry.value!r} of {package}: {error}")
    return catalog


def _package_dir(value: str) -> Path:
    """The folder of the package an entry point names, found without importing it (``a.b`` imports ``a``)."""
    if ":" in value:
        raise ModuleFileError("the value must name a package (my_module), not an object (my_module:X)")
    try:
        spec = importlib.util.find_spec(value)
    except (ImportError, ValueError) as error:
        raise ModuleFileError(f"cannot locate package {value}: {error}") from None
    if spec is None or not spec.submodule_search_locations:
        raise ModuleFileError(f"{value} is not an importable package (a folder with __init__.py)")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def source_from_directory(directory: Path) -> ModuleSource:
    """A module given by folder (``-m ./folder`` or ``init_args.directory``).

    A folder with ``module.py`` is a module. Any other folder is offered to the built-in modules
    that have a ``folder.py`` (``init_args_for(folder)``): the first that recognises its files serves
    it (``exported_model`` does for exported Paddle Inference or ONNX models), with no Python from the user.
    """
    folder = directory.expanduser().resolve()
    if not folder.is_dir():
        raise ModuleNotFound(f"{directory} is not a folder: give a module folder or an exported model folder")
    try:
        if (folder / MODULE_FILE).is_file():
            return ModuleSource(read_module_info(folder), folder)
        for builtin, init_args in _folder_servers(folder):
            return ModuleSource(
                read_module_info(builtin), builtin, True, served_folder=folder, init_args=init_args
            )
        return ModuleSource(read_module_info(folder), folder)
    except ModuleFileError as error:
        raise ModuleNotFound(
            f"{error}; or put an exported model there "
            "(*.json or *.pdmodel with *.pdiparams, __model__, *.onnx)"
        ) from None


def _folder_servers(folder: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Built-in modules that can serve ``folder``, with the init_args that do it."""
    for hook in sorted(BUILTIN_DIR.glob(f"*/{FOLDER_HOOK}.py")):
        package = f"hubserving.modules.{hook.parent.name}.{FOLDER_HOOK}"
        init_args = importlib.import_module(package).init_args_for(folder)
        if init_args is not None:
            yield hook.parent, init_args


def read_init_parameters(directory: Path) -> tuple[frozenset[str], bool] | None:
    """The keyword names the module class's ``__init__`` takes, and whether it takes ``**kwargs``.

    Read with ``ast`` like the metadata, so wrong ``init_args`` fail before any worker starts.
    None when it cannot be told statically (no ``__init__`` of its own, or a file that does not parse).
    """
    try:
        tree = ast.parse((directory / MODULE_FILE).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(_is_moduleinfo_call(d) for d in node.decorator_list):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    arguments = item.args
                    after_self = [*arguments.posonlyargs, *arguments.args][1:]
                    keywords = [a for a in after_self if a not in arguments.posonlyargs]
                    names = [a.arg for a in (*keywords, *arguments.kwonlyargs)]
                    return frozenset(names), arguments.kwarg is not None
            return None
    return None


def module_catalog(home: HubHome) -> Catalog:
    """Built-in modules, the user's under ``$HUB_HOME/modules``, and packages' (``hubserving.modules``)."""
    return discover([(BUILTIN_DIR, True), (home.modules_dir, False)], ENTRY_POINT_GROUP)
