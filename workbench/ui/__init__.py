"""The Chinese web app (Gradio). A thin shell: every action is a library call."""

from workbench.ui.app import build_app, launch, parse_auth, render_slots

__all__ = ["build_app", "launch", "parse_auth", "render_slots"]
