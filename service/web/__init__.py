"""The overview page: server-rendered HTML for people (the API is for programs)."""
