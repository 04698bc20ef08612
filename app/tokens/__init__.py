"""tokens blueprint: routes in routes.py."""
