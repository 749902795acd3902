"""`workbench tracking …` (filled in by its own change)."""
