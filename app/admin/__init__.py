"""Administration (issue 15): the admin role, users (list, create, quota, disable, password
reset) and invitations. Administrators never read users' files through these routes."""
