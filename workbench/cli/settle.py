"""`workbench settle …` (filled in by its own change)."""
