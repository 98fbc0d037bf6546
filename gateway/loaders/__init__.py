"""Per-request dataloaders that batch and dedupe upstream calls, one module per job domain."""
