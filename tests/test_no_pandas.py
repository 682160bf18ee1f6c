"""sqlite_utils must not drag pandas and numpy onto the console's and the importer's path."""

from __future__ import annotations

import subprocess
import sys


def test_store_imports_without_pandas_or_numpy() -> None:
    import pandas  # noqa: F401  (the test extras install it; the guard matters only then)

    code = (
        "import sys, tui_agent.store.db, tui_agent.store.importer, tui_agent.session;"
        "print(sorted(m for m in ('pandas', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_pandas_still_importable_afterwards() -> None:
    code = "import tui_agent.store.db, pandas; print(pandas.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "pandas"
