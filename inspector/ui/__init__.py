"""Streamlit app: pages, sidebar and panels over the library (imported by app.py)."""
