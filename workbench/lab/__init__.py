"""The template lab: live lint, trials, side-by-side comparisons, versions and preview
clips of script templates, and which template earns (plain functions returning dataclasses,
for the CLI and the app)."""
