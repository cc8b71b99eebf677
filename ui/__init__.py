"""The Streamlit interface (pages, cached data access, shared state). French on screen."""
