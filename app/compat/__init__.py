"""Routes that keep the seed services' clients working unchanged."""
