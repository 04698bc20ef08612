"""folders blueprint: routes in routes.py."""
