"""trash blueprint: routes in routes.py."""
