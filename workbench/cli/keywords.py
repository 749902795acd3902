"""`workbench keywords …` (filled in by its own change)."""
