"""Queue framework glue: one module per backend."""
