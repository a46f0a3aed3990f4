"""The admin portal: the cache (read-only), API tokens, and upstream sync."""

from . import cache, sync, tokens  # noqa: F401  (each registers its models)
