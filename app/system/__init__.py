"""system blueprint: routes in routes.py, rules in service.py."""
