"""Dashboard pages: each module defines only `render()`, registered by the entrypoint."""
