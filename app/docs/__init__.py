"""The API's documentation page: a vendored Swagger UI showing our own /apispec.json."""
