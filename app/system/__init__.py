"""The service's health (``/api/status``), for people and load balancers: routes only, no rules."""
