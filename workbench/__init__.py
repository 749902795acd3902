"""Workbench: turns novel and drama material into keyword-tagged promotion videos."""

__version__ = "0.1.0"
