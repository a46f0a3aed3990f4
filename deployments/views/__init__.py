"""The pages: each module one page (or family of fragments), thin over queries/services."""
