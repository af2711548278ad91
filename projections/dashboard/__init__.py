"""The operators' command centre: a web app over the read models (pages and a JSON API that
show the same numbers), live over Server-Sent Events, offline (every asset vendored)."""
