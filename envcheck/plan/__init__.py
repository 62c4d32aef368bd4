"""Request × Environment × Matrix → Plan | Conflict: the search, the steps, the renderings."""
