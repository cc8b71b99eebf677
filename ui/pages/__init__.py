"""The pages of the explorer, one module each (French titles in ``streamlit_app.py``)."""
