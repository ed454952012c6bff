"""Decision service (FastAPI): one package per product; see SPEC sections 4 and 5."""
