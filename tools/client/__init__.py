"""The desktop client: python -m tools.client (see __main__.py)."""
