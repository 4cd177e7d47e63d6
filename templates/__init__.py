"""The bundled copier template content (data only)."""
