"""`python -m schema` writes the exported SDL to schema/schema.graphql (`--check` only compares)."""

from __future__ import annotations

import sys
from pathlib import Path

from schema import schema

SDL_PATH = Path(__file__).with_name("schema.graphql")


def exported_sdl() -> str:
    return schema.as_str().rstrip("\n") + "\n"


def main(argv: list[str]) -> int:
    sdl = exported_sdl()
    if "--check" in argv:
        if not SDL_PATH.exists() or SDL_PATH.read_text(encoding="utf-8") != sdl:
            print(f"{SDL_PATH} is out of date: run `make schema`", file=sys.stderr)
            return 1
        return 0
    SDL_PATH.write_text(sdl, encoding="utf-8")
    print(f"wrote {SDL_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
