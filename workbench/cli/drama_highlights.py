"""`workbench drama …` (filled in by its own change)."""
