"""The extension's TypeScript unit tests (``extension/src/test/*.test.ts``), run with Node's
built-in test runner on the JavaScript ``tsc`` compiled into ``extension/lib`` (``jlpm build``;
``scripts/setup.sh`` builds it when it installs the package). They cover the graph view's pure
modules: the DOT text and its parsing, search, the palette, the layout tree, pan and zoom,
the keyboard, group loading and navigation. Same command as ``jlpm test`` in ``extension/``.

And the style of all of the extension's TypeScript: ESLint (``eslint.config.mjs``: ESLint's and
typescript-eslint's recommended rules) and Prettier (``.prettierrc.json``), as ``jlpm lint``."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

EXTENSION = Path(__file__).resolve().parents[1] / "extension"
SOURCES = EXTENSION / "src" / "test"
COMPILED = EXTENSION / "lib" / "test"
#: Registers the loader hooks that let Node run tsc's output (see src/test/hooks.mts).
REGISTER = COMPILED / "register.mjs"
#: ``module.register``, which the hooks need, came in Node 20.6.
MIN_NODE = (20, 6)
TIMEOUT_S = 300


def _node_version(node: str) -> tuple[int, int]:
    """The major and minor version of a Node binary (0, 0 where it cannot tell)."""
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=60).stdout
    match = re.match(r"v(\d+)\.(\d+)", out.strip())
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def test_typescript_unit_tests_pass() -> None:
    """Every compiled unit test file passes under ``node --test``; a failure shows Node's report."""
    sources = sorted(SOURCES.glob("*.test.ts"))
    assert sources, f"no unit tests found in {SOURCES}"
    # The README's test command installs Node and builds extension/lib before pytest runs: a
    # missing piece is a broken set-up, which must fail here rather than pass silently.
    node = shutil.which("node")
    assert node is not None, "node is not on PATH: scripts/setup.sh installs it"
    version = _node_version(node)
    assert version >= MIN_NODE, f"node {'.'.join(map(str, version))} is older than 20.6 (module.register): upgrade it"
    compiled = [COMPILED / (path.name[: -len(".ts")] + ".js") for path in sources]
    missing = [str(path.relative_to(EXTENSION)) for path in [REGISTER, *compiled] if not path.is_file()]
    assert not missing, (f"extension/lib is not built, or predates these tests (missing {', '.join(missing)}): "
                         "run `jlpm build` in extension/")
    result = subprocess.run(
        [node, "--import", f"./{REGISTER.relative_to(EXTENSION).as_posix()}", "--test", "--test-reporter=tap",
         *(path.relative_to(EXTENSION).as_posix() for path in compiled)],
        cwd=EXTENSION, capture_output=True, text=True, timeout=TIMEOUT_S,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, f"node --test failed (exit {result.returncode}):\n{report}"
    # Each file must have run its tests, not merely loaded: Node's summary counts them.
    passed = re.search(r"^# pass (\d+)$", report, re.M)
    assert passed and int(passed.group(1)) >= len(sources), f"too few tests ran:\n{report}"


def test_eslint_and_prettier_find_nothing() -> None:
    """``jlpm lint``: ESLint, then Prettier's check, over ``extension/src``."""
    for tool, args in (("eslint", ["src"]), ("prettier", ["--check", "src/**/*.ts"])):
        binary = EXTENSION / "node_modules" / ".bin" / tool
        assert binary.is_file(), f"{tool} is not installed: scripts/setup.sh installs the extension's dev dependencies"
        result = subprocess.run([str(binary), *args], cwd=EXTENSION, capture_output=True, text=True, timeout=TIMEOUT_S)
        assert result.returncode == 0, f"{tool} found problems:\n{result.stdout}{result.stderr}"
