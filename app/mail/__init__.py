"""Email: the SMTP sender and the messages the drive sends (password reset, address checks, invitations)."""
