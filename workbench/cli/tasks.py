"""`workbench tasks …` (filled in by its own change)."""
