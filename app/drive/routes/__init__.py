"""The drive's HTTP routes, one module per part of the API: files, folders, the trash, search
(with stars and usage), and the routes files and folders share (items)."""
