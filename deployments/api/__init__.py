"""LaunchDarkly's engineering-insights deployment API, at LaunchDarkly's own paths.

Same paths, parameters, shapes and errors as LaunchDarkly's, so that its generated
clients and pipeline integrations work against this server unchanged.
"""
