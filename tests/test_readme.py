"""The README's examples run as printed, and its install instructions match pyproject.toml."""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_readme_has_python_examples():
    assert len(BLOCKS) >= 3, "README should show the library, a classification and a regression"


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{n}" for n in range(len(BLOCKS))])
def test_readme_python_example_runs(block):
    if "sklearn" in block:
        pytest.importorskip("sklearn")  # data for the quick start only; bplit does not need it
    exec(compile(block, "README.md", "exec"), {})


def test_readme_install_section_matches_pyproject():
    project = PYPROJECT["project"]
    deps = project["dependencies"]
    assert len(deps) == 1 and re.match(r"numpy\b", deps[0]), deps  # "NumPy is its one dependency"
    assert "NumPy is its one dependency" in README
    extras = project["optional-dependencies"]
    for name, packages in extras.items():
        assert f'pip install ".[{name}]"' in README, f"README does not show the extra {name!r}"
        for package in packages:
            assert re.match(r"[A-Za-z0-9_.-]+", package).group(0) in README, (name, package)
    for shown in re.findall(r'pip install "\.\[([a-z,]+)\]"', README):
        assert set(shown.split(",")) <= set(extras), f"README shows an extra pyproject lacks: {shown}"


def test_pip_install_ships_every_subpackage():
    # `pip install .` installs what [tool.setuptools] lists: a package missing there is
    # missing from the installed library (bplit.notation, say), though the tests, run
    # from the checkout, would still import it.
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "bplit").rglob("__init__.py")}
    config = PYPROJECT["tool"]["setuptools"]
    if isinstance(config.get("packages"), list):
        shipped = set(config["packages"])
    else:
        from setuptools import find_packages

        find = config.get("packages", {}).get("find", {})
        shipped = set(find_packages(str(ROOT), include=find.get("include", ["*"])))
    assert found <= shipped, (
        f"pip install . would not ship {sorted(found - shipped)}: list it in [tool.setuptools] packages "
        '(or use [tool.setuptools.packages.find] include = ["bplit*"])'
    )
