"""Open files: the soft limit lifted to the hard one, and the connection ceiling that fits under it."""

from __future__ import annotations

import logging
import resource

logger = logging.getLogger("gateway.server")

# File descriptors kept free of client connections: upstream and Redis sockets, the embedded emulator,
# connections over the ceiling waiting for their 503, log files.
FD_RESERVE_SHARE = 4
FD_RESERVE_MIN = 64
# Where the soft open-file limit goes when the hard limit is unlimited.
FD_TARGET_WHEN_UNLIMITED = 1 << 20


def raise_open_file_limit() -> int:
    """Lift the soft open-file limit to the hard one (a connection holds a descriptor); the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = FD_TARGET_WHEN_UNLIMITED if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            logger.warning("could not raise the open-file limit from %d to %d (%s)", soft, target, exc)
    return FD_TARGET_WHEN_UNLIMITED if soft == resource.RLIM_INFINITY else soft


def connections_that_fit(wanted: int, fd_limit: int) -> int:
    """The connection ceiling the open-file limit allows, keeping a reserve for everything else."""
    fit = max(1, fd_limit - max(FD_RESERVE_MIN, fd_limit // FD_RESERVE_SHARE))
    if wanted > fit:
        logger.warning(
            "GATEWAY_MAX_CONNECTIONS=%d does not fit under the open-file limit of %d; serving at most %d "
            "connections (raise `ulimit -n` to serve more)",
            wanted,
            fd_limit,
            fit,
        )
        return fit
    return wanted
