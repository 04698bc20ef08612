"""The browser file manager: one HTML shell (app/templates/app.html) and its ES modules
(app/static/js/), which get all data through the JSON API."""
