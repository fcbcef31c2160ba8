"""Forms generated from the engine's registry: one editor per parameter kind, no per-class code."""
