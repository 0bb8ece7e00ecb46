"""Set-up: pinned constraints, environment.yml agreeing with them, the two README commands."""

import re
import tomllib
from pathlib import Path

import yaml

COURSE_DIR = Path(__file__).resolve().parents[1]

NAME = re.compile(r"^([A-Za-z0-9_.\-]+)\s*==\s*([^\s;#]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def constraint_pins() -> dict[str, str]:
    pins = {}
    for line in (COURSE_DIR / "constraints.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            match = NAME.match(line)
            assert match, f"constraints.txt: not an exact pin: {line!r}"
            pins[canonical(match[1])] = match[2]
    return pins


def direct_dependencies() -> set[str]:
    project = tomllib.loads((COURSE_DIR / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs += [s for s in extra if not s.startswith("attention-course")]
    return {canonical(re.split(r"[<>=!~\[; ]", s, maxsplit=1)[0]) for s in specs}


def test_torch_is_pinned_to_the_cpu_release():
    assert constraint_pins()["torch"] == "2.13.0"


def test_every_direct_and_test_dependency_is_pinned():
    missing = direct_dependencies() - constraint_pins().keys()
    assert not missing, f"not pinned in constraints.txt: {sorted(missing)}"


def test_environment_yml_installs_the_same_pins():
    env = yaml.safe_load((COURSE_DIR / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    env_pins = {canonical(m[1]): m[2] for line in pip_section if (m := NAME.match(line))}
    pins = constraint_pins()
    assert env_pins, "environment.yml has no pip pins"
    assert {k: v for k, v in env_pins.items() if pins.get(k) != v} == {}
    assert direct_dependencies() <= env_pins.keys()
    assert "python=3.11" in env["dependencies"]


def test_readme_leads_with_the_two_commands_and_makefile_has_targets():
    readme = (COURSE_DIR / "README.md").read_text()
    first_section = readme.split("\n## ", 2)[:2]
    assert "make lab" in "".join(first_section) and "make test" in "".join(first_section)
    makefile = (COURSE_DIR / "Makefile").read_text()
    for target in ("install", "lab", "test", "exercises", "bench", "grade"):
        assert re.search(rf"^{target}:", makefile, re.M), target
    assert "make test" in (COURSE_DIR / ".ci" / "run").read_text()


def test_course_kernel_is_registered_in_the_venv():
    import json
    import subprocess
    import sys

    listed = subprocess.run(
        [sys.executable, "-m", "jupyter", "kernelspec", "list", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    specs = json.loads(listed.stdout)["kernelspecs"]
    assert "attention-course" in specs
    spec = specs["attention-course"]["spec"]
    assert spec["display_name"] == "Python 3 (attention course)"
    assert spec["argv"][0].startswith(sys.prefix) or spec["argv"][0] == "python"
