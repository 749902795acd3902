"""The template lab: template versions compared, and which template earns."""
