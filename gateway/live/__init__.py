"""Live job state: multiplexed pollers, event fan-out between replicas, and per-subscriber watches."""
