"""Page-wide styling (small CSS from assets/app.css)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

CSS_PATH = Path(__file__).resolve().parents[2] / "assets" / "app.css"


def apply_theme() -> None:
    """Inject the app CSS, if the assets folder ships it."""
    if CSS_PATH.is_file():
        st.html(f"<style>{CSS_PATH.read_text(encoding='utf-8')}</style>")
