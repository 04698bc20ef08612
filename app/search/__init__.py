"""search blueprint: routes in routes.py."""
