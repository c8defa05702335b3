"""The core works without the CLI: importing it (the report's figures too) pulls in neither typer nor rich."""

import subprocess
import sys


def test_core_imports_neither_typer_nor_rich() -> None:
    code = (
        "import sys\n"
        "import mcpobs.analysis, mcpobs.errors, mcpobs.ingest, mcpobs.report, mcpobs.store\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'rich', 'click'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
