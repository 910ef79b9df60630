"""Widgets and helpers for kmq's Streamlit app (``streamlit_app.py``).

Display only: nothing here decides a colour. :mod:`kmq_app.files` derives
safe download names, :mod:`kmq_app.views` turns what :mod:`kmq_core` returns
into previews, crops and small pieces of HTML.
"""
