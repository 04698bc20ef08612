"""Accounts, sessions and API tokens: who a request is. Routes for accounts (routes.py) and
tokens (token_routes.py), their rules (service.py, tokens.py), their repositories (repo.py on
MongoDB, sqlite_repo.py on SQLite)."""
