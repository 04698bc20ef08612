"""web blueprint: the browser file manager (static shell; data through the JSON API)."""
