"""Resumable uploads (tus 1.0): upload records, the protocol's routes, and the service that
turns a finished upload into a file the way a multipart upload does."""
