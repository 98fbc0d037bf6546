"""`python -m gateway`: the same commands as the `metastudio-gateway` script."""

from gateway.cli import main

raise SystemExit(main())
