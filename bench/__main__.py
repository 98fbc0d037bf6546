"""`python -m bench`: run every benchmark."""

from bench.run import main

# Guarded: a benchmark's multiprocessing workers import this module again under another name.
if __name__ == "__main__":
    raise SystemExit(main())
