"""The exported SDL matches the code, and keeps every name the public contract fixes."""

import subprocess
import sys
from pathlib import Path

from schema.__main__ import SDL_PATH, exported_sdl

CONTRACT_CHECK = Path(__file__).resolve().parents[3] / "shared" / "tools" / "contract_check.py"


def test_the_committed_sdl_is_what_the_code_exports() -> None:
    drifted = "schema/schema.graphql drifted from the code: run `make schema`"
    assert SDL_PATH.read_text(encoding="utf-8") == exported_sdl(), drifted


def test_the_sdl_keeps_every_fixed_name_of_the_contract() -> None:
    assert CONTRACT_CHECK.exists(), f"the contract checker belongs beside the repository at {CONTRACT_CHECK}"
    result = subprocess.run(
        [sys.executable, str(CONTRACT_CHECK), str(SDL_PATH)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all fixed names present" in result.stdout
