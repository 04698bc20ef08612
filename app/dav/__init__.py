"""WebDAV at /dav/<username>/: the mount (mount.py), the provider over our items (provider.py),
Basic authentication (auth.py) and locks in the database (locks.py, repo.py, sqlite_repo.py)."""
