"""The HTTP front: the Starlette app, its routes and the index page."""
