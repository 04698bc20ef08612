"""Share links: anyone with the link can read one file or folder, within the owner's limits."""
