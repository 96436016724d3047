"""The installed package's version, for ``workbench.__version__`` and the widgets' front-end
module version (a module of its own, so that the widgets need not import the package's top)."""

from __future__ import annotations


def package_version() -> str:
    """The version of the installed ``onnx-workbench`` distribution."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("onnx-workbench")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"
