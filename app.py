"""Streamlit entry point: ``streamlit run app.py`` (the app lives in inspector/ui)."""

from pathlib import Path

import streamlit as st

from inspector.ui import sidebar
from inspector.ui.theme import apply_theme

# A local icon: a ``:material/...:`` page icon makes the browser fetch it from a font host.
ICON = str(Path(__file__).resolve().parent / "assets" / "icon.png")
st.set_page_config(page_title="BN Fold Inspector", page_icon=ICON, layout="wide")
apply_theme()
page = st.navigation([
    st.Page("inspector/ui/pages/inspect.py", title="Inspect", icon=":material/search:", default=True),
    st.Page("inspector/ui/pages/fold.py", title="Fold", icon=":material/join_inner:"),
    st.Page("inspector/ui/pages/timing.py", title="Timing", icon=":material/timer:"),
    st.Page("inspector/ui/pages/learn.py", title="Learn", icon=":material/school:"),
])
sidebar.render()
page.run()
