"""tui_agent: a terminal console for repurchase follow-ups."""

import importlib
import sys

__version__ = "0.1.0"


def _import_sqlite_utils_without_pandas() -> None:
    """Import sqlite_utils with pandas and numpy hidden from it.

    sqlite_utils imports pandas and numpy whenever they are installed, only to map their scalar
    types to column types, which tui-agent never passes it. On a machine with pandas (the test
    extras bring it, so do many shops' machines) that cost +0.3-0.9 s and +46 MB on every
    command and on the console's first paint. Importing it once here, with both names masked,
    keeps them off every path; code that wants pandas or numpy later still imports them.
    """
    if "sqlite_utils" in sys.modules:
        return
    hidden = [m for m in ("pandas", "numpy") if m not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` fail
    try:
        importlib.import_module("sqlite_utils")
    finally:
        for name in hidden:
            if sys.modules.get(name) is None:
                del sys.modules[name]


_import_sqlite_utils_without_pandas()
