"""The audit log (issue 15): security-relevant events, kept in the database (``events``) and
as one JSON line each in a daily file under ``instance/audit/``; owners see their drive's
activity and who opened or downloaded each of their links, administrators everything."""
