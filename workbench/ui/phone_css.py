"""The page on a phone (390×844 and the like): 创作's fields one per line, dropdown text that
stops before its caret, a background gallery of small thumbnails, nothing wider than the
screen. Added to the app's CSS by launch()."""

from __future__ import annotations

PHONE_CSS = """
input[role=combobox] { padding-right: var(--size-6) !important; text-overflow: ellipsis; }
#bg-gallery .grid-wrap { max-height: 260px; }
@media (max-width: 640px) {
  .gradio-container { padding-left: var(--size-2) !important;
                      padding-right: var(--size-2) !important; }
  #create-tab .row { flex-direction: column; align-items: stretch; }
  #create-tab .row > *, #create-tab .form > * { min-width: 100% !important; }
  #bg-gallery .grid-container { --grid-cols: 3 !important; }
  #bg-gallery .grid-wrap { height: auto !important; max-height: 320px; }
  #segments td, #segments th { font-size: var(--text-sm); }
  #video video, #cover img { max-height: 60vh; }
}
"""
