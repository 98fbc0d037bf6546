"""The exported SDL matches the code."""

from schema.__main__ import SDL_PATH, exported_sdl

# The public contract's own checker is not part of the repository: `.ci/run` runs it over
# schema/schema.graphql where it is available, so that a bare clone's `make test` passes without it.


def test_the_committed_sdl_is_what_the_code_exports() -> None:
    drifted = "schema/schema.graphql drifted from the code: run `make schema`"
    assert SDL_PATH.read_text(encoding="utf-8") == exported_sdl(), drifted
